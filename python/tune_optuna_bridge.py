#!/usr/bin/env python3
"""tune <-> Optuna: any Optuna sampler as a tune searcher, over the ask/tell protocol of
docs/searcher_protocol.md (JSON lines on stdin/stdout).

    search_alg: {type: external, command: [python3, python/tune_optuna_bridge.py, --sampler, tpe]}

Options:
  --sampler NAME        tpe (default), cmaes, random, qmc, nsgaii, or any optuna.samplers class
                        name (TPESampler, ...)
  --sampler-args JSON   keyword arguments for the sampler, e.g. '{"multivariate": true}'
Needs optuna (Debian: apt-get install python3-optuna); otherwise the standard library only.
"""
import json
import math
import sys

try:
    import optuna
except ImportError:  # say so on the protocol, where tune shows it
    sys.stdout.write(json.dumps({"error": "the optuna bridge needs optuna (apt-get install python3-optuna "
                                          "or pip install optuna)"}) + "\n")
    sys.stdout.flush()
    sys.exit(1)

from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

SAMPLERS = {"tpe": "TPESampler", "cmaes": "CmaEsSampler", "random": "RandomSampler", "qmc": "QMCSampler",
            "nsgaii": "NSGAIISampler"}


def arg(name, default=None):
    args = sys.argv[1:]
    return args[args.index(name) + 1] if name in args else default


def reply(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


class Leaf:
    """One distribution of the space: its Optuna distribution and how to map values back."""

    def __init__(self, path, kind, a):
        self.path, self.kind, self.post, self.values = path, kind, None, None
        if kind == "uniform":
            self.dist = FloatDistribution(a[0], a[1])
        elif kind == "quniform":
            self.dist = FloatDistribution(a[0], a[1])
            self.post = lambda x, q=a[2], lo=a[0], hi=a[1]: min(max(round(x / q) * q, lo), hi)
        elif kind in ("loguniform", "qloguniform"):
            self.dist = FloatDistribution(a[0], a[1], log=True)
            if kind == "qloguniform":
                self.post = lambda x, q=a[2], lo=a[0], hi=a[1]: min(max(round(x / q) * q, lo), hi)
        elif kind in ("randn", "qrandn"):
            self.dist = FloatDistribution(a[0] - 4 * a[1], a[0] + 4 * a[1])
            if kind == "qrandn":
                self.post = lambda x, q=a[2]: round(x / q) * q
        elif kind == "randint":
            self.dist = IntDistribution(a[0], a[1] - 1)
        elif kind == "lograndint":
            self.dist = IntDistribution(a[0], a[1] - 1, log=True)
        elif kind == "qrandint":
            q = a[2]
            self.dist = IntDistribution(math.ceil(a[0] / q) * q, math.floor(a[1] / q) * q, step=q)
        elif kind == "qlograndint":
            q = a[2]
            self.dist = IntDistribution(a[0], a[1], log=True)
            self.post = lambda x, q=q, lo=a[0], hi=a[1]: int(min(max(round(x / q) * q, lo), hi))
        elif kind == "choice":
            self.values = list(a)
            simple = all(v is None or isinstance(v, (bool, int, float, str)) for v in a)
            self.dist = CategoricalDistribution(list(a) if simple else list(range(len(a))))
            self.simple = simple
        else:
            raise ValueError(f"config/{path}: {kind} is not supported by the optuna bridge")

    def to_config(self, x):
        if self.values is not None:
            return x if self.simple else self.values[x]
        return self.post(x) if self.post else x

    def to_optuna(self, v):
        if self.values is not None:
            return v if self.simple else self.values.index(v)
        return v


DOMAINS = {"uniform", "quniform", "loguniform", "qloguniform", "randn", "qrandn", "randint", "qrandint",
           "lograndint", "qlograndint", "choice"}


def leaves(node, path=""):
    if isinstance(node, dict):
        if len(node) == 1 and next(iter(node)) in DOMAINS:
            kind, a = next(iter(node.items()))
            yield Leaf(path, kind, a)
            return
        for k, v in node.items():
            yield from leaves(v, f"{path}/{k}" if path else k)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from leaves(v, f"{path}/{i}" if path else str(i))


def get_path(config, path):
    node = config
    for key in path.split("/"):
        if isinstance(node, list):
            key = int(key)
            if key >= len(node):
                return None
        elif not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def set_path(config, path, value):
    keys = path.split("/")
    node = config
    for key in keys[:-1]:
        node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
    last = keys[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


class Bridge:
    def __init__(self, hello):
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.space = hello["space"]
        self.leaves = list(leaves(self.space))
        self.dists = {leaf.path: leaf.dist for leaf in self.leaves}
        name = arg("--sampler", "tpe")
        cls = getattr(optuna.samplers, SAMPLERS.get(name, name))
        kwargs = json.loads(arg("--sampler-args", "{}"))
        if hello.get("seed") is not None:
            kwargs.setdefault("seed", hello["seed"] % (2 ** 32))
        direction = "maximize" if hello.get("mode") == "max" else "minimize"
        self.study = optuna.create_study(direction=direction, sampler=cls(**kwargs))
        self.metric = hello.get("metric")
        self.running = {}
        for point in hello.get("points_to_evaluate") or []:
            self.study.enqueue_trial(self.params_of(point), skip_if_exists=False)

    def params_of(self, config):
        params = {}
        for leaf in self.leaves:
            v = get_path(config, leaf.path)
            if v is not None:
                params[leaf.path] = leaf.to_optuna(v)
        return params

    def config_of(self, params):
        config = json.loads(json.dumps(self.space))
        for leaf in self.leaves:
            set_path(config, leaf.path, leaf.to_config(params[leaf.path]))
        return config

    def ask(self, trial_id):
        trial = self.study.ask(self.dists)
        self.running[trial_id] = trial
        return self.config_of(trial.params)

    def tell(self, trial_id, message):
        trial = self.running.pop(trial_id, None)
        if trial is None:
            return
        result = message.get("result")
        if result is not None and self.metric in result:
            self.study.tell(trial, float(result[self.metric]))
        else:
            self.study.tell(trial, state=optuna.trial.TrialState.FAIL)

    def restore(self, history):
        asked, told = {}, {}
        for entry in history:
            if "ask" in entry:
                asked[entry["ask"]] = entry["config"]
            elif "tell" in entry:
                told[entry["tell"]] = entry
        for trial_id, config in asked.items():
            params = self.params_of(config)
            if trial_id in told:
                result = told[trial_id].get("result")
                ok = result is not None and self.metric in result
                self.study.add_trial(optuna.trial.create_trial(
                    params=params, distributions=self.dists,
                    value=float(result[self.metric]) if ok else None,
                    state=optuna.trial.TrialState.COMPLETE if ok else optuna.trial.TrialState.FAIL))
            else:  # still running: it will be told later under the same id
                self.study.enqueue_trial(params)
                self.running[trial_id] = self.study.ask(self.dists)


def main():
    bridge = None
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            message = json.loads(line)
            if "hello" in message:
                bridge = Bridge(message)
                reply({"ok": True, "name": "optuna " + optuna.__version__})
            elif "ask" in message:
                reply({"config": bridge.ask(message["ask"])})
            elif "tell" in message:
                bridge.tell(message["tell"], message)
                reply({"ok": True})
            elif "restore" in message:
                bridge.restore(message["restore"])
                reply({"ok": True})
            else:
                reply({"error": f"unknown request: {line.strip()[:100]}"})
        except Exception as e:  # reported on the protocol; tune stops the run with it
            reply({"error": f"{type(e).__name__}: {e}"})


if __name__ == "__main__":
    main()
