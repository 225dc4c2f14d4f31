"""Test helper: a Python trial through clients/python/tune_client.py. Config "mode":
count (report "steps" results, score = i * rate), nan, forever (until stopped), list (report a list)."""
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
finally:
    if tune.should_stop():
        with open(os.path.join(os.environ.get("TUNE_TRIAL_DIR", "."), "stopped.txt"), "w") as f:
            f.write("stopped\n")
