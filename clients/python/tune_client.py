"""tune_client: the Python side of tune's worker protocol (docs/protocol.md). One file, stdlib only.

    import tune_client as tune

    config = tune.get_config()
    for epoch in range(100):
        loss = train_one_epoch(config["lr"])
        tune.report(loss=loss)   # blocks until tune has decided; raises tune.TrialStopped to end

Under tune (the trial runs with ProcessSpec.protocol = kWorker, so TUNE_PROTOCOL_FDS is set),
report() hands the result to the driver and waits for its decision. When the trial must end
it raises TrialStopped, a SystemExit with code 0: unhandled, it ends the script cleanly and
`finally` blocks run. A script that simply returns (exit status 0) ends its trial normally;
any other exit status, or a signal, makes the trial ERROR with the end of stderr in error.txt.

get_pinned_object(object_id) returns a read-only memoryview of a large object the driver
pinned (tune::pin_in_object_store in C++; its id usually comes in the config): the driver's
shared memory mapped read-only, never copied, typed like the pinned items ("f" for floats).

Outside tune, report() prints the result as one JSON line on stdout (which a "plain" process
trial understands too) and returns, and get_config() returns the defaults it is given.

Not thread-safe: call it from one thread.
"""

import json
import mmap
import os
import select
import sys

__all__ = [
    "PROTOCOL_VERSION",
    "PinnedObjectError",
    "TrialStopped",
    "checkpoint_dir",
    "get_config",
    "get_pinned_object",
    "is_connected",
    "report",
    "restore_path",
    "should_stop",
    "trial_info",
]

PROTOCOL_VERSION = 1


class TrialStopped(SystemExit):
    """Raised by report() when tune stopped the trial. Not an error (exit code 0)."""

    def __init__(self):
        super().__init__(0)


def _to_json(value):
    # numpy scalars and arrays, without importing numpy.
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    raise TypeError("tune_client: cannot send a %s in a result (use numbers, strings, lists and dicts)"
                    % type(value).__name__)


def _encode(message):
    # allow_nan: NaN and Infinity travel as the bare tokens, which the driver accepts.
    return (json.dumps(message, separators=(",", ":"), allow_nan=True, default=_to_json) + "\n").encode()


def _claim_stdio_protocol():
    """The protocol on stdin/stdout (TUNE_PROTOCOL_FDS=0,1: under Slurm, srun forwards nothing
    else) is moved aside when this module is imported, so that what the script prints cannot
    corrupt it; stdout then goes to $TUNE_TRIAL_DIR/stdout.log (stderr without a trial directory)."""
    if os.environ.get("TUNE_PROTOCOL_FDS") != "0,1":
        return
    sys.stdout.flush()
    fd_in, fd_out = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    trial_dir = os.environ.get("TUNE_TRIAL_DIR")
    if trial_dir:
        log = os.open(os.path.join(trial_dir, "stdout.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(log, 1)
        os.close(log)
    else:
        os.dup2(2, 1)
    os.environ["TUNE_PROTOCOL_FDS"] = "%d,%d" % (fd_in, fd_out)


_claim_stdio_protocol()


class _Client:
    def __init__(self):
        self.connected = False
        self.config = {}
        self.trial = {}
        self.restore_from = None
        self.step_pending = False
        self.stopped = False
        self._buffer = b""
        fds = os.environ.get("TUNE_PROTOCOL_FDS")
        if not fds:
            return
        try:
            self._in, self._out = (int(fd) for fd in fds.split(","))
        except ValueError:
            return
        self.connected = True
        # What this script starts is not connected, and must not hold the protocol pipes.
        os.set_inheritable(self._in, False)
        os.set_inheritable(self._out, False)
        for name in ("TUNE_PROTOCOL_FDS", "TUNE_PROTOCOL_VERSION"):
            os.environ.pop(name, None)
        setup = self._receive()
        if setup is None:
            self.stopped = True
            return
        if not isinstance(setup, dict) or setup.get("type") != "setup":
            self._fail("the first request was not 'setup'")
        if setup.get("version") != PROTOCOL_VERSION:
            self._fail("unsupported protocol version %r (this client speaks %d)"
                       % (setup.get("version"), PROTOCOL_VERSION))
        self.config = setup.get("config") or {}
        self.trial = setup.get("trial") or {}
        self.restore_from = setup.get("restore_from")
        self._send({"type": "ready", "version": PROTOCOL_VERSION})

    # ---- wire ----

    def _send(self, message):
        sys.stdout.flush()
        sys.stderr.flush()
        data = _encode(message)
        while data:
            written = os.write(self._out, data)
            data = data[written:]

    def _receive(self):
        """The next request, or None when the driver closed the pipe."""
        while b"\n" not in self._buffer:
            chunk = os.read(self._in, 65536)
            if not chunk:
                return None
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)

    def _fail(self, message):
        self._send({"type": "error", "message": "tune_client: " + message})
        raise RuntimeError("tune_client: " + message)

    # ---- requests ----

    def _handle(self, request):
        """Handles one request; False when it ends a wait (a step or a stop)."""
        kind = request.get("type") if isinstance(request, dict) else None
        if request is None or kind == "stop":
            self.stopped = True
            return False
        if kind == "step":
            self.step_pending = True
            return False
        self._send({"type": "error",
                    "message": "tune_client: request %r is not supported by a function-style client (it saves its "
                               "own checkpoints under checkpoint_dir())" % kind})
        return True

    def wait_for_step(self):
        while not self.step_pending and not self.stopped:
            self._handle(self._receive())
        if self.stopped:
            raise TrialStopped()

    def report(self, metrics):
        if self.stopped:
            raise TrialStopped()
        if not self.step_pending:
            self.wait_for_step()
        self._send({"type": "result", "result": metrics})
        self.step_pending = False
        self.wait_for_step()

    def poll_stop(self):
        while (b"\n" in self._buffer or select.select([self._in], [], [], 0)[0]) and not self.stopped:
            if b"\n" not in self._buffer:
                chunk = os.read(self._in, 65536)
                if not chunk:
                    self.stopped = True
                    break
                self._buffer += chunk
                continue
            if not self._handle(self._receive()):
                break
        return self.stopped


_client = None


def _get():
    global _client  # the process's one connection: a process has one pair of protocol fds
    if _client is None:
        _client = _Client()
    return _client


def is_connected():
    """True when running under tune's worker protocol."""
    return _get().connected


def get_config(defaults=None):
    """The trial's config; outside tune, `defaults` (or {}). Under tune, config values win."""
    merged = dict(defaults or {})
    merged.update(_get().config)
    return merged


def trial_info():
    """trial_id, trial_name, experiment_id, trial_dir, checkpoint_dir, gpu_ids, resources."""
    return dict(_get().trial)


def report(_metrics=None, **metrics):
    """Reports one result (a dict and/or keyword arguments) and waits for tune's decision.

    Raises TrialStopped when the trial must end."""
    result = {}
    if _metrics is not None:
        if not isinstance(_metrics, dict):
            raise TypeError("tune_client.report: takes a dict of metrics or keyword arguments, got a %s"
                            % type(_metrics).__name__)
        result.update(_metrics)
    result.update(metrics)
    client = _get()
    if not client.connected:
        # A plain program runs on while the driver reads: the checkpoint of this result is
        # named in its line, so its label is this state (docs/protocol.md, "Plain protocol").
        global _plain_reports
        step = _plain_step_dir()
        if (step and result.get("should_checkpoint") is True and "checkpoint" not in result
                and os.path.isdir(step) and os.listdir(step)):
            result["checkpoint"] = os.path.basename(step)
        _plain_reports += 1
        sys.stdout.write(_encode(result).decode())
        sys.stdout.flush()
        return
    client.report(result)


def should_stop():
    """Non-blocking: True once tune asked this trial to stop (check it inside long steps)."""
    client = _get()
    if not client.connected:
        return False
    return client.stopped or client.poll_stop()


_plain_reports = 0  # results printed under the plain protocol


def _plain_step_dir():
    """Under the plain protocol: the next result's own checkpoint directory, else None."""
    base = os.environ.get("TUNE_CHECKPOINT_DIR")
    if not base or _get().connected:
        return None
    return os.path.join(base, "step_%d" % (_plain_reports + 1))


def checkpoint_dir():
    """Where to write the checkpoint of the next result (created).

    Under the plain protocol a fresh TUNE_CHECKPOINT_DIR/step_<n> per result, which report()
    names; else TUNE_CHECKPOINT_DIR, or ./checkpoint outside tune."""
    path = (_plain_step_dir() or os.environ.get("TUNE_CHECKPOINT_DIR") or _get().trial.get("checkpoint_dir")
            or "checkpoint")
    os.makedirs(path, exist_ok=True)
    return path


def restore_path():
    """The checkpoint to restore from when the trial is restored, else None."""
    return os.environ.get("TUNE_RESTORE_FROM") or _get().restore_from or None


class PinnedObjectError(LookupError):
    """get_pinned_object: the id is unknown, or what TUNE_PINNED_OBJECTS names is not usable."""


_PINNED_ENV = "TUNE_PINNED_OBJECTS"
_pinned = {}  # id -> memoryview, for the life of the process (like the protocol fds)


def _pinned_descriptors():
    # "<id>:<fd>:<bytes>:<item_size>:<format>,..." (docs/protocol.md)
    objects = {}
    for entry in filter(None, os.environ.get(_PINNED_ENV, "").split(",")):
        fields = entry.split(":")
        try:
            object_id, fd, size, item_size, fmt = fields
            objects[object_id] = (int(fd), int(size), int(item_size), fmt)
        except ValueError:
            raise PinnedObjectError("%s: entry %r is malformed (expected <id>:<fd>:<bytes>:<item_size>:<format>)"
                                    % (_PINNED_ENV, entry)) from None
    return objects


def get_pinned_object(object_id):
    """The object the driver pinned as `object_id`, as a read-only memoryview (no copy).

    Its format is the pinned items' ("f" for float32, "d", "i", "q", "B", ...; bytes for a
    struct), so view[i] is an item and len(view) counts items; bytes(view) copies it. Raises
    PinnedObjectError naming the id when this process did not inherit it."""
    view = _pinned.get(object_id)
    if view is not None:
        return view
    objects = _pinned_descriptors()
    if object_id not in objects:
        raise PinnedObjectError("get_pinned_object: no pinned object %r (this process inherited %s)"
                                % (object_id, ", ".join(objects) or "none: %s is empty or not set" % _PINNED_ENV))
    fd, size, _item_size, fmt = objects[object_id]
    where = "%s names fd %d for %r" % (_PINNED_ENV, fd, object_id)
    try:
        target = os.readlink("/proc/self/fd/%d" % fd)
    except FileNotFoundError:
        raise PinnedObjectError(where + ", but this process does not have it open (a process between tune and this "
                                "one closed it, e.g. subprocess with close_fds=True)") from None
    except OSError:
        target = None  # no /proc: the size check below still applies
    expected = "/memfd:" + object_id
    if target is not None and target != expected and not target.startswith(expected + " "):
        raise PinnedObjectError(where + ", but that fd is " + target)
    if os.fstat(fd).st_size < size:
        raise PinnedObjectError(where + " of %d bytes, but the file is smaller" % size)
    if size == 0:
        view = memoryview(b"")
    else:
        view = memoryview(mmap.mmap(fd, size, access=mmap.ACCESS_READ))
    if fmt not in ("", "B"):  # a struct ("") stays bytes; len(view) is then item_size * count
        view = view.cast(fmt)
    _pinned[object_id] = view
    return view
