"""A SIGKILLed Python driver is resumed with every iteration exactly once; pinned numpy data
is shared without a copy; Ctrl-C (after the runner's interruption support is merged)."""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import tune

DRIVER = textwrap.dedent("""
    import os, sys, time
    import tune

    def train(config, checkpoint_dir=None):
        start = 0
        if checkpoint_dir:
            with open(os.path.join(checkpoint_dir, "i")) as f:
                start = int(f.read())
        for i in range(start, 12):
            time.sleep(0.05)
            with tune.checkpoint_dir(step=i) as d:
                with open(os.path.join(d, "i"), "w") as f:
                    f.write(str(i + 1))
            tune.report(i=i)

    tune.run(train, name="killed", local_dir=sys.argv[1], config={"k": tune.grid_search([0, 1])},
             resume=len(sys.argv) > 2, verbose=0)
    print("DONE")
""")


def test_a_sigkilled_driver_resumes_with_every_iteration_exactly_once(tmp_path):
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    first = subprocess.Popen([sys.executable, str(script), str(tmp_path)], env=env, start_new_session=True)
    results = tmp_path / "killed"
    deadline = time.time() + 60
    while time.time() < deadline:  # kill once each trial has some results
        files = list(results.glob("*/result.json"))
        if len(files) == 2 and all(len(f.read_text().splitlines()) >= 3 for f in files):
            break
        time.sleep(0.05)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    second = subprocess.run([sys.executable, str(script), str(tmp_path), "resume"], env=env, capture_output=True,
                            text=True, timeout=120)
    assert second.returncode == 0, second.stderr
    assert "DONE" in second.stdout
    analysis = tune.ExperimentAnalysis(str(results))
    assert len(analysis.trials) == 2
    for trial in analysis.trials:
        assert trial["status"] == "TERMINATED"
        frame = analysis.trial_dataframes[trial["logdir"]]
        assert list(frame["i"]) == list(range(12)), frame["i"].tolist()


def test_a_pinned_numpy_array_is_shared_read_only_without_a_copy(run_kwargs):
    data = np.arange(1_000_000, dtype=np.float64)
    object_id = tune.pin_in_object_store(data)

    def train(config):
        array = tune.get_pinned_object(object_id)
        tune.report(total=float(array.sum()), writeable=bool(array.flags.writeable),
                    shares=bool(np.shares_memory(array, data)))

    analysis = tune.run(train, num_samples=2, **run_kwargs)
    df = analysis.dataframe()
    assert (df["total"] == data.sum()).all()
    assert not df["writeable"].any()
    assert df["shares"].all()
    assert tune.get_pinned_object(object_id).base is data


def test_ctrl_c_stops_the_run_cleanly_raises_keyboard_interrupt_and_resumes(tmp_path):
    script = tmp_path / "driver.py"
    script.write_text(textwrap.dedent("""
        import sys, time
        import tune
        def train(config):
            for i in range(150):
                time.sleep(0.01)
                tune.report(i=i)
        try:
            tune.run(train, name="ctrlc", local_dir=sys.argv[1], num_samples=2, verbose=0,
                     resume=sys.argv[2] == "resume")
            print("FINISHED")
        except KeyboardInterrupt:
            print("INTERRUPTED")
    """))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.Popen([sys.executable, str(script), str(tmp_path), "start"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert "INTERRUPTED" in out, err
    assert "resume" in err
    analysis = tune.ExperimentAnalysis(str(tmp_path / "ctrlc"))
    # Stopped, not ended: the interrupted trials wait for the resume.
    assert "PENDING" in {t["status"] for t in analysis.trials}
    assert {t["status"] for t in analysis.trials} <= {"TERMINATED", "PENDING"}
    # The resume finishes them, each iteration logged exactly once.
    done = subprocess.run([sys.executable, str(script), str(tmp_path), "resume"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert "FINISHED" in done.stdout, done.stderr
    analysis = tune.ExperimentAnalysis(str(tmp_path / "ctrlc"))
    assert [t["status"] for t in analysis.trials] == ["TERMINATED", "TERMINATED"]
    for trial in analysis.trials:
        with open(os.path.join(trial["logdir"], "result.json")) as f:
            iterations = [json.loads(line)["training_iteration"] for line in f]
        assert iterations == list(range(1, 151))
