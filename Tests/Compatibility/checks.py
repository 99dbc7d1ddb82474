"""What the peer-client scripts share: one line per check, waiting for a condition, the sim's control API."""
import json
import sys
import time
import urllib.request

passed, failed = 0, 0


def check(name, condition, detail=""):
    global passed, failed
    if condition:
        passed += 1
        print(f"ok    {name}")
    else:
        failed += 1
        print(f"FAIL  {name} {detail}")


def wait_for(predicate, seconds=10.0):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def control_call(control, method, path, body=None):
    """A call to the sim's control API at CONTROL_HOST:PORT (`/sim/flow`, `/sim/book`, …)."""
    request = urllib.request.Request(f"http://{control}{path}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def finish():
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
