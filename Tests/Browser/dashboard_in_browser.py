"""The live dashboard in a real browser: Debian's chromium, headless, driven by Selenium.

Against keel demo's setup — a `keel sim`, and `keel run` paper-quoting against it with the sim's demo account
(its connector a child process) — started here so the bot can be restarted: the page loads, its socket
connects, status reads Connected; the ladder's best bid and ask equal the bot's `/ws/health` books (with the
sim's flow paused, so both are of one moment); a `kill -9` of the connector shows Reconnecting/Down and then
Connected again within 3 s; Halt leads to risk HALTED and no live orders; Resume quotes again; a stopped bot
shows as disconnected and the same page (no reload) is live again when it is back. Nothing secret reaches
the page. Screenshots and the bot's log go to the artifacts directory.

Usage: python dashboard_in_browser.py KEEL CONFIG HTTP_PORT SIM_CONTROL_PORT ARTIFACTS_DIR
"""
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

keel, config, http_port, control_port, artifacts = sys.argv[1:6]
base = f"http://127.0.0.1:{http_port}"
# The demo account's credentials (keel sim's documented demo values): they must never reach the page.
SECRETS = ["keel-demo-key", "keel-demo-secret"]
os.makedirs(artifacts, exist_ok=True)
failures = []
bot_log = open(os.path.join(artifacts, "bot.log"), "ab")


def start_bot():
    env = {k: v for k, v in os.environ.items() if not k.startswith("BYBIT_")}
    env.update({"BYBIT_API_KEY": SECRETS[0], "BYBIT_API_SECRET": SECRETS[1]})
    bot = subprocess.Popen([keel, "run", "--config", config], stdout=bot_log, stderr=bot_log, stdin=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            get("/health")
            return bot
        except Exception:
            if bot.poll() is not None:
                raise SystemExit(f"keel run exited with {bot.returncode}; see {artifacts}/bot.log")
            time.sleep(0.1)
    raise SystemExit("keel run did not answer /health within 60 s")


def stop_bot(bot):
    bot.send_signal(signal.SIGINT)
    return bot.wait(timeout=45)


def get(path):
    with urllib.request.urlopen(base + path, timeout=5) as response:
        return json.loads(response.read())


def post_control(path, body):
    request = urllib.request.Request(f"http://127.0.0.1:{control_port}{path}", data=json.dumps(body).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.read()


def check(name, ok, detail=""):
    print(("PASS " if ok else "FAIL ") + name + (f": {detail}" if detail else ""), flush=True)
    if not ok:
        failures.append(name)


def shot(name):
    driver.save_screenshot(os.path.join(artifacts, name + ".png"))


def text(testid):
    return driver.find_element(By.CSS_SELECTOR, f"[data-testid={testid}]").text


def wait_for(condition, seconds, step=0.05):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            value = condition()
            if value:
                return value
        except Exception:
            pass
        time.sleep(step)
    return None


options = Options()
for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000", "--disable-gpu"]:
    options.add_argument(argument)
options.binary_location = "/usr/bin/chromium"
bot = start_bot()
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
try:
    driver.get(base + "/")

    # 1. The socket connects and the connector reads Connected.
    live = wait_for(lambda: text("socket-state") == "live", 15)
    check("the page's socket connects", bool(live), text("socket-state"))
    connected = wait_for(lambda: text("connector-status").startswith("Connected"), 30)
    check("status reads Connected", bool(connected), text("connector-status"))
    quoting = wait_for(lambda: len(driver.find_elements(By.CSS_SELECTOR, "[data-testid=own-quotes] tr")) > 0, 60)
    check("our quotes are listed", bool(quoting))
    shot("1-connected")

    # 2. The ladder's best bid and ask are the bot's books (the sim's flow paused: one moment for both).
    post_control("/sim/flow", {"paused": True})
    time.sleep(1.0)

    def ladder_matches():
        book = get("/ws/health")["connector"]["books"]["BTCUSDT"]
        bid = driver.find_element(By.CSS_SELECTOR, "[data-testid=book-bids] tr[data-best]").get_attribute("data-price")
        ask = driver.find_element(By.CSS_SELECTOR, "[data-testid=book-asks] tr[data-best]").get_attribute("data-price")
        return (bid, ask) if (bid, ask) == (book["best_bid"], book["best_ask"]) else None

    matched = wait_for(ladder_matches, 5, step=0.2)
    check("ladder's best bid and ask equal /ws/health's book", bool(matched), f"{matched}")
    own_marked = driver.find_elements(By.CSS_SELECTOR, "[data-testid=book-bids] tr.own, [data-testid=book-asks] tr.own")
    check("our quotes are marked on the ladder", len(own_marked) > 0, f"{len(own_marked)} rows")
    shot("2-ladder")
    post_control("/sim/flow", {"paused": False})

    # 3. kill -9 of the connector: Reconnecting/Down, then Connected again within 3 s.
    pid = get("/ws/health")["connector"]["connector_health"]["pid"]
    seen = []
    os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()
    back = None
    while time.monotonic() - killed < 10:
        status = text("connector-status")
        state = status.split(" ")[0]
        if not seen or seen[-1] != state:
            seen.append(state)
            if state != "Connected":
                shot("3-after-kill")
        if state == "Connected" and len(seen) > 1:
            back = time.monotonic() - killed
            break
        time.sleep(0.02)
    check("a killed connector shows Reconnecting or Down", any(s in ("Reconnecting", "Down") for s in seen), " → ".join(seen))
    check("then Connected again within 3 s", back is not None and back <= 3.0, f"{back:.2f} s" if back is not None else "never")
    new_pid = get("/ws/health")["connector"]["connector_health"]["pid"]
    check("a new connector process", new_pid not in (None, pid), f"{pid} → {new_pid}")

    # 4. Halt (confirmed): risk HALTED and no live orders; Resume: quoting again.
    driver.find_element(By.CSS_SELECTOR, "[data-testid=halt]").click()
    WebDriverWait(driver, 5).until(lambda d: d.switch_to.alert).accept()
    halted = wait_for(lambda: text("risk-state") == "HALTED" and not driver.find_elements(By.CSS_SELECTOR, "[data-testid=own-quotes] tr"), 10)
    status = get("/strategy/status")
    check("Halt: risk HALTED on the page, no live orders", bool(halted), text("risk-state"))
    check("Halt: /strategy/status agrees", status["risk"]["state"] == "HALTED" and status["live_orders"] == [] and not status["quoting"],
          f"{status['risk']['state']}, {len(status['live_orders'])} live")
    shot("4-halted")
    driver.find_element(By.CSS_SELECTOR, "[data-testid=resume]").click()
    WebDriverWait(driver, 5).until(lambda d: d.switch_to.alert).accept()
    resumed = wait_for(lambda: text("risk-state") == "ACTIVE" and driver.find_elements(By.CSS_SELECTOR, "[data-testid=own-quotes] tr"), 20)
    check("Resume: ACTIVE and quoting again", bool(resumed), text("risk-state"))
    shot("5-resumed")

    # 5. The bot stops: the page says it is disconnected; the bot is back: the same page is live again.
    driver.execute_script("window.keelSamePage = 42")
    began = time.monotonic()
    code = stop_bot(bot)
    check("the bot stops cleanly with the page open, within 10 s", code == 0 and time.monotonic() - began < 10,
          f"exit {code} in {time.monotonic() - began:.2f} s")
    gone = wait_for(lambda: text("socket-state").startswith("disconnected"), 10)
    check("a stopped bot shows as disconnected", bool(gone), text("socket-state"))
    shot("6-bot-stopped")
    bot = start_bot()
    again = wait_for(lambda: text("socket-state") == "live" and text("connector-status").startswith("Connected"), 60)
    check("the same page reconnects by itself when the bot is back", bool(again) and driver.execute_script("return window.keelSamePage") == 42,
          f"{text('socket-state')}, {text('connector-status')}")
    shot("7-bot-back")

    # 6. Position and PnL are shown; nothing secret is on the page.
    check("position and net PnL shown", text("position") not in ("", "–") and text("pnl-net") not in ("", "–"),
          f"position {text('position')}, net {text('pnl-net')}")
    page = driver.page_source
    leaked = [s for s in SECRETS if s in page]
    check("no secret on the page", not leaked, ", ".join(leaked))
    logs = driver.get_log("browser") if hasattr(driver, "get_log") else []
    errors = [entry["message"] for entry in logs if entry.get("level") == "SEVERE" and "ws/dashboard" not in entry["message"]]
    check("no script errors in the console", not errors, "; ".join(errors[:3]))
finally:
    driver.quit()
    if bot.poll() is None:
        stop_bot(bot)

print(f"dashboard in chromium: {'FAILED: ' + ', '.join(failures) if failures else 'all passed'}")
sys.exit(1 if failures else 0)
