#!/usr/bin/env python3
"""The hostile lines of the untrusted-input tests (tests/cli/untrusted_output_test.cc).

As a plain-protocol trial: `hostile_lines.py plain CASE` prints ten valid results, then the
hostile line of CASE, then one more valid result (which must be ignored), and exits 0.
As an external searcher (docs/searcher_protocol.md): `hostile_lines.py searcher CASE` answers
the first ask with a config, further asks with not_now until that trial was told, then with
the hostile line of CASE.  CASE: overflow (1e309), deep (20,000 levels), utf8 (invalid UTF-8),
nul (a NUL byte), long (a 5 MiB line)."""
import json
import sys

role, case = sys.argv[1], sys.argv[2]


def hostile(key):
    head = b'{"' + key + b'": '
    if case == "overflow":
        return head + b"1e309}"
    if case == "deep":
        return head + b"[" * 20000 + b"]" * 20000 + b"}"
    if case == "utf8":
        return head + b'"caf\xe9 \xff"}'
    if case == "nul":
        return head + b'"a\x00b"}'
    if case == "long":
        return head + b'"' + b"x" * (5 << 20) + b'"}'
    raise SystemExit("unknown case " + case)


out = sys.stdout.buffer
if role == "plain":
    for i in range(10):
        out.write(json.dumps({"score": i}).encode() + b"\n")
    out.write(hostile(b"score") + b"\n")
    out.write(b'{"score": 100}\n')
    out.flush()
    sys.exit(0)

asks = 0
told = False
for line in sys.stdin:
    msg = json.loads(line)
    if "ask" in msg:
        asks += 1
        if asks == 1:
            reply = json.dumps({"config": {"x": 1}}).encode()
        elif not told:
            reply = b'{"not_now": true}'
        else:
            reply = hostile(b"config")
    else:
        told = told or "tell" in msg
        reply = b'{"ok": true}'
    out.write(reply + b"\n")
    out.flush()
