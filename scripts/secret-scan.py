"""Scans the tracked files and the whole git history for key-shaped strings: private keys, URLs with a
password, API key / secret / token / password assignments with a long literal value, AWS-style keys. A hit
fails unless its value is on the allow-list of documented test values (scripts/secret-scan-allow.txt: one
value a line, each a credential that exists only in tests, the sim or the docs).

Usage: python3 scripts/secret-scan.py   (from the checkout; exit 1 on a hit)
"""
import os
import re
import subprocess
import sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.chdir(root)
allowed = set()
with open("scripts/secret-scan-allow.txt") as f:
    for line in f:
        line = line.strip()
        if line and not line.startswith("#"):
            allowed.add(line)

PATTERNS = [
    ("private key", re.compile(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY-----")),
    ("URL with a password", re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@'\"]+:([^/\s:@'\"]{3,})@")),
    ("AWS access key", re.compile(r"\b(AKIA[0-9A-Z]{16})\b")),
    ("key / secret / token assignment", re.compile(
        r"(?i)\b\w*(?:key|secret|token|password|passwd)\b[\"']?\s*[:=]\s*[\"']([A-Za-z0-9_\-+/=.]{12,})[\"']")),
    ("key / secret in the environment", re.compile(r"\b[A-Z_]*(?:API_KEY|API_SECRET|TOKEN|PASSWORD)=([^\s$\"'/][^\s\"']{7,})")),
]
# Not secrets: placeholders, config key names (`exchange.symbols`), variable names (`BYBIT_API_KEY`).
NAME = re.compile(r"^(?:[a-z_]+(?:\.[a-z_0-9]+)+|[A-Z][A-Z0-9_]+)$")
PLACEHOLDER = re.compile(r"(?i)^(?:x+|\*+|<.*>|\$\{?[A-Z_]+\}?|\\\(.*\)|your[_-].*|changeme|example.*|redacted|PASSWORD|USER)$")


def scan(label, text, hits):
    for name, pattern in PATTERNS:
        for match in pattern.finditer(text):
            value = match.group(1) if match.groups() else match.group(0)
            if value in allowed or PLACEHOLDER.match(value) or NAME.match(value) or any(a in match.group(0) for a in allowed):
                continue
            # Said without the value itself: a scanner must not leak what it found into CI's log.
            shown = match.group(0).replace(value, value[:3] + "…") if len(value) > 3 else match.group(0)
            hits.append(f"{label}: {name}: {shown[:80]}")


hits = []
files = subprocess.run(["git", "ls-files", "-z"], capture_output=True, check=True).stdout.decode().split("\0")
for path in filter(None, files):
    if path in ("scripts/secret-scan-allow.txt",):
        continue
    try:
        with open(path, encoding="utf-8") as f:
            scan(path, f.read(), hits)
    except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
        continue
tracked = len(hits)
# Every commit's added lines (a secret committed once and removed later is still in the history).
log = subprocess.run(["git", "log", "--all", "-p", "--no-color", "--unified=0", "--format=commit %H"], capture_output=True, check=True).stdout
commit = ""
for raw in log.decode("utf-8", "replace").split("\n"):
    if raw.startswith("commit "):
        commit = raw[7:19]
    elif raw.startswith("+") and not raw.startswith("+++"):
        before = len(hits)
        scan(f"history {commit}", raw, hits)
        del hits[before + 1:]

unique = sorted(set(hits))
for hit in unique[:50]:
    print("secret-scan: " + hit, file=sys.stderr)
print(f"secret-scan: {len(files) - 1} tracked files and the history: {len(unique)} hit(s)"
      + ("" if not unique else f" ({tracked} in tracked files)"))
sys.exit(1 if unique else 0)
