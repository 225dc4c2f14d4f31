"""Test helper: a Python trial through clients/python/tune_client.py. Config "mode":
count (report "steps" results, score = i * rate), nan, forever (until stopped), list (report a list),
pinned (read the pinned float array config "object": its sum, length, format, whether it is read-only)."""
import os

import tune_client as tune

config = tune.get_config({"mode": "count", "steps": 3, "rate": 1})
mode = config["mode"]
try:
    if mode == "count":
        for i in range(1, int(config["steps"]) + 1):
            tune.report(score=i * config["rate"], connected=tune.is_connected(),
                        trial_id=tune.trial_info().get("trial_id"), restore=tune.restore_path())
    elif mode == "nan":
        tune.report({"loss": float("nan")}, up=float("inf"))
    elif mode == "forever":
        i = 0
        while True:
            i += 1
            tune.report(score=i, stop_seen=tune.should_stop())
    elif mode == "list":
        tune.report([1, 2, 3])
    elif mode == "pinned":
        view = tune.get_pinned_object(config["object"])
        try:
            view[0] = 0.0
            writable = True
        except TypeError:
            writable = False
        try:
            tune.get_pinned_object("no-such-object")
            unknown = ""
        except tune.PinnedObjectError as e:
            unknown = str(e)
        tune.report(sum=sum(view), count=len(view), format=view.format, writable=writable,
                    same_view=tune.get_pinned_object(config["object"]) is view, unknown_error=unknown)
finally:
    if tune.should_stop():
        with open(os.path.join(os.environ.get("TUNE_TRIAL_DIR", "."), "stopped.txt"), "w") as f:
            f.write("stopped\n")
