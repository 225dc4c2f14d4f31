#!/usr/bin/env python3
"""A minimal ask/tell searcher (docs/searcher_protocol.md) for the tests: random search over
uniform/loguniform/randint/choice leaves, standard library only.

Options: --finish-after N (say finished after N asks), --garbage (answer ask with junk),
--log FILE (append every request line), --not-now-every K (every K-th ask says not_now)."""
import json
import math
import random
import sys

args = sys.argv[1:]
finish_after = int(args[args.index("--finish-after") + 1]) if "--finish-after" in args else None
not_now_every = int(args[args.index("--not-now-every") + 1]) if "--not-now-every" in args else None
garbage = "--garbage" in args
log = open(args[args.index("--log") + 1], "a") if "--log" in args else None

rng = random.Random(0)
space = {}
asks = 0
told = {}


def sample(node):
    if isinstance(node, dict):
        if len(node) == 1:
            (kind, a), = node.items()
            if kind == "uniform":
                return rng.uniform(a[0], a[1])
            if kind == "loguniform":
                return math.exp(rng.uniform(math.log(a[0]), math.log(a[1])))
            if kind == "randint":
                return rng.randrange(a[0], a[1])
            if kind == "choice":
                return rng.choice(a)
        return {k: sample(v) for k, v in node.items()}
    return node


def reply(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


for line in sys.stdin:
    if log:
        log.write(line)
        log.flush()
    msg = json.loads(line)
    if "hello" in msg:
        space = msg["space"]
        rng.seed(msg.get("seed") or 0)
        reply({"ok": True, "name": "asktell_random"})
    elif "ask" in msg:
        asks += 1
        if garbage:
            sys.stdout.write("this is not json\n")
            sys.stdout.flush()
        elif finish_after is not None and asks > finish_after:
            reply({"finished": True})
        elif not_now_every and asks % not_now_every == 0:
            reply({"not_now": True})
        else:
            reply({"config": sample(space)})
    elif "tell" in msg:
        told[msg["tell"]] = msg.get("result")
        reply({"ok": True, "told": len(told)})
    elif "restore" in msg:
        reply({"ok": True})
    else:
        reply({"error": "unknown request"})
