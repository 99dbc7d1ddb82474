"""The deployment files (deploy/) parsed and held to what Keel is: every environment variable they set for the
bot is one Keel reads; every secret comes from a file (compose secrets at /run/secrets, *_FILE variables) and
never sits in a value; the scrape target, ports and service names agree with the bot's config and each other;
the systemd unit restarts on failure and waits longer than the bot's own 40 s stop.

Usage: python check_deploy.py [KEEL_BINARY]   (run from the checkout; PyYAML from PyPI)
"""
import configparser
import json
import os
import re
import subprocess
import sys

import yaml

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
deploy = os.path.join(root, "deploy")
keel = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, ".build/debug/keel")
failures = []


def check(name, ok, detail=""):
    print(("PASS " if ok else "FAIL ") + name + (f": {detail}" if detail else ""), flush=True)
    if not ok:
        failures.append(name)


def load(path):
    with open(os.path.join(deploy, path)) as f:
        return yaml.safe_load(f)


# What Keel reads: every quoted upper-case name in its sources, and the *_FILE form of each secret it reads
# through Credentials (Credentials.secret("NAME") / credentials' NAME_FILE).
sources = ""
for directory, _, files in os.walk(os.path.join(root, "Sources")):
    for name in files:
        if name.endswith(".swift"):
            with open(os.path.join(directory, name)) as f:
                sources += f.read()
quoted = set(re.findall(r'"([A-Z][A-Z0-9_]{2,})"', sources))
file_secrets = set(re.findall(r'secret\("([A-Z][A-Z0-9_]+)"', sources)) | {"BYBIT_API_KEY", "BYBIT_API_SECRET"}


def keel_reads(variable):
    if variable in quoted:
        return True
    return variable.endswith("_FILE") and variable[: -len("_FILE")] in file_secrets


SECRETISH = re.compile(r"PASSWORD|SECRET|TOKEN|API_KEY|POSTGRES_URL|WEBHOOK")


def secret_from_file(variable, value):
    """A secret-looking variable must name a file (…_FILE / …__FILE), not carry the value."""
    if not SECRETISH.search(variable):
        return True
    return variable.endswith("_FILE") and str(value).startswith("/")


compose = load("docker-compose.yml")
services = compose["services"]
bot_config = load("keel.yaml")
http_port = bot_config["monitoring"]["http_port"]

# The bot's environment: every variable one Keel reads; secrets from files under /run/secrets.
for variable, value in services["keel"]["environment"].items():
    check(f"compose: keel reads {variable}", keel_reads(variable))
    check(f"compose: {variable} is not a secret's value", secret_from_file(variable, value), str(value) if not SECRETISH.search(variable) else "")
    if variable.endswith("_FILE"):
        secret = os.path.basename(str(value))
        check(f"compose: {variable} points at a mounted secret", str(value).startswith("/run/secrets/") and secret in services["keel"].get("secrets", []))
# Every service: secrets as files only, each declared with a file under deploy/secrets.
declared = compose.get("secrets", {})
for name, service in services.items():
    for variable, value in (service.get("environment") or {}).items():
        check(f"compose: {name}'s {variable} is not a secret's value", secret_from_file(variable, value))
    for secret in service.get("secrets", []):
        check(f"compose: {name}'s secret {secret} is a file", secret in declared and declared[secret].get("file", "").startswith("./secrets/"))
check("compose: no secret value anywhere in the file", not re.search(r"(PASSWORD|SECRET|TOKEN)\s*[:=]\s*[^/\s\n]{6,}",
      open(os.path.join(deploy, "docker-compose.yml")).read().replace("_FILE:", "").replace("__FILE:", "")))

# Ports, targets and names agree.
check("compose: the bot's port is published", any(str(p).endswith(f":{http_port}:{http_port}") for p in services["keel"].get("ports", [])),
      f"monitoring.http_port {http_port}")
check("keel.yaml: beyond loopback only with a token file", bot_config["monitoring"]["http_host"] in ("127.0.0.1", "localhost")
      or "MONITORING_API_TOKEN_FILE" in services["keel"]["environment"])
prometheus = load("prometheus/prometheus.yml")
targets = [t for job in prometheus["scrape_configs"] if job["job_name"] == "keel" for group in job["static_configs"] for t in group["targets"]]
check("prometheus: scrapes the keel service on monitoring.http_port", targets == [f"keel:{http_port}"], f"{targets}")
check("prometheus: the job is named keel (the alerts' up{job=\"keel\"})", any(job["job_name"] == "keel" for job in prometheus["scrape_configs"]))
mounts = {v.split(":")[1]: v.split(":")[0] for v in services["prometheus"]["volumes"] if v.startswith("./")}
for rule_file in prometheus["rule_files"]:
    check(f"prometheus: rule file {rule_file} is mounted from deploy/prometheus", mounts.get(rule_file) == "./prometheus/alerts.yml")
alertmanagers = [t for a in prometheus["alerting"]["alertmanagers"] for g in a["static_configs"] for t in g["targets"]]
check("prometheus: alerts go to the alertmanager service", alertmanagers == ["alertmanager:9093"] and "alertmanager" in services)
check("prometheus: its own config is mounted", mounts.get("/etc/prometheus/prometheus.yml") == "./prometheus/prometheus.yml")

alertmanager = load("alertmanager/alertmanager.yml")
hooks = [h for r in alertmanager["receivers"] for h in r.get("webhook_configs", [])]
check("alertmanager: the receiver is a webhook", bool(hooks) and alertmanager["route"]["receiver"] in [r["name"] for r in alertmanager["receivers"]])
for hook in hooks:
    check("alertmanager: the webhook URL comes from a mounted secret file", "url" not in hook and hook.get("url_file", "").startswith("/run/secrets/")
          and os.path.basename(hook["url_file"]) in services["alertmanager"].get("secrets", []))

datasources = load("grafana/provisioning/datasources/prometheus.yml")["datasources"]
check("grafana: the data source is the prometheus service", datasources[0]["url"] == "http://prometheus:9090" and datasources[0]["uid"] == "prometheus")
provider = load("grafana/provisioning/dashboards/keel.yml")["providers"][0]
grafana_mounts = {v.split(":")[1]: v.split(":")[0] for v in services["grafana"]["volumes"]}
check("grafana: the dashboard JSON is mounted where the provider reads", grafana_mounts.get(provider["options"]["path"] + "/keel-dashboard.json") == "./grafana/keel-dashboard.json")
dashboard = json.load(open(os.path.join(deploy, "grafana/keel-dashboard.json")))
uids = {p["datasource"]["uid"] for p in dashboard["panels"]} | {t["datasource"]["uid"] for p in dashboard["panels"] for t in p["targets"]}
check("grafana: every panel uses the provisioned data source", uids == {"prometheus"}, f"{uids}")

# The systemd unit.
unit = configparser.ConfigParser(strict=False, interpolation=None)
unit.optionxform = str
with open(os.path.join(deploy, "keel.service")) as f:
    text = f.read()
unit.read_string(text)
service = unit["Service"]
check("keel.service: restarts on failure", service.get("Restart") == "on-failure")
check("keel.service: stops with SIGTERM", service.get("KillSignal") == "SIGTERM")
check("keel.service: waits longer than the bot's 40 s stop", int(service.get("TimeoutStopSec", "0")) > 40)
check("keel.service: runs keel run with a config", service.get("ExecStart", "").split()[1:3] == ["run", "--config"])
for line in re.findall(r"^Environment=(.*)$", text, re.M):
    variable, _, value = line.partition("=")
    check(f"keel.service: keel reads {variable}", keel_reads(variable))
    check(f"keel.service: {variable} is not a secret's value", secret_from_file(variable, value))

# The bot's deploy config is one keel accepts (with a token, as compose gives it one).
if os.access(keel, os.X_OK):
    result = subprocess.run([keel, "config", "check", os.path.join(deploy, "keel.yaml")], capture_output=True, text=True,
                            env={**os.environ, "MONITORING_API_TOKEN": "deploy-check-token-0123456789"})
    check("keel.yaml: keel config check accepts it", result.returncode == 0, result.stderr.strip()[-300:])
    check("keel.yaml: the token is not echoed", "deploy-check-token-0123456789" not in result.stdout + result.stderr)
else:
    check("keel binary present for the config check", False, keel)

print(f"deploy files: {'FAILED: ' + ', '.join(failures) if failures else 'all passed'}")
sys.exit(1 if failures else 0)
