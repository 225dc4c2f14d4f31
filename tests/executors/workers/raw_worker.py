"""Test helper: speaks the worker protocol by hand (no client), misbehaving as argv[1] says:
badversion, notjson, badutf8, array, unexpected, ok."""
import json
import os
import sys

mode = sys.argv[1]
requests = os.fdopen(3, "rb")
setup = json.loads(requests.readline())
assert setup["type"] == "setup" and setup["version"] == 1


def send(data):
    os.write(4, data if isinstance(data, bytes) else (json.dumps(data) + "\n").encode())


if mode == "badversion":
    send({"type": "ready", "version": 2})
elif mode == "notjson":
    send(b"this is not json\n")
elif mode == "badutf8":
    send(b'{"type": "result", "result": {"name": "caf\xe9"}}\n')
elif mode == "array":
    send({"type": "result", "result": [1, 2, 3]})
elif mode == "unexpected":
    send({"type": "saved", "dir": "/tmp"})
elif mode == "ok":
    send({"type": "ready", "version": 1})
    assert json.loads(requests.readline())["type"] == "step"
    send({"type": "result", "result": {"score": 7}})
    assert json.loads(requests.readline())["type"] in ("step", "stop")
    send({"type": "done"})
# Stay until the driver closes the pipes or kills us.
requests.read()
