"""tune.run(..., dashboard=...): the dashboard serves the experiment while it runs."""
import json
import socket
import urllib.request

import tune


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_dashboard_serves_the_running_experiment_and_stops_with_it(run_kwargs, capfd):
    port = _free_port()

    def train(config):
        # While this trial runs, the dashboard lists it RUNNING.
        url = f"http://127.0.0.1:{port}/api/experiments/dash/trials?status=RUNNING"
        with urllib.request.urlopen(url, timeout=10) as response:
            running = json.load(response)["total"]
        tune.report(running=running)

    analysis = tune.run(train, name="dash", dashboard={"port": port}, **run_kwargs)
    assert [t["last_result"]["running"] for t in analysis.trials] == [1]
    assert f"tune dashboard: serving dash at http://127.0.0.1:{port}/" in capfd.readouterr().out
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/api/experiments", timeout=2)
        assert False, "still serving after the run"
    except OSError:
        pass
