"""pin_in_object_store / get_pinned_object: data every trial reads without a copy.

Trials are forks of the driver (see tune.run), so an object pinned before tune.run is in
every trial's memory already, as pages shared with the driver: a numpy array is handed out as
a read-only view of the one copy (no pickling, no copy; a trial that needs to write makes its
own copy). In thread execution it is the driver's object itself. Objects other than numpy
arrays are shared the same way, by value as they were at tune.run: a change a trial makes
stays in its process. Pin before calling tune.run: a later pin is not seen by running trials.
"""
import itertools

from . import _tune

# The driver's pinned objects by id. Module state on purpose: the API is Ray's global
# pin/get, and forked trials inherit exactly this table.
_pinned = {}
_ids = itertools.count(1)


def _read_only(obj):
    try:
        import numpy as np
    except ImportError:
        return obj
    if isinstance(obj, np.ndarray):
        view = obj.view()
        view.flags.writeable = False
        return view
    return obj


def pin_in_object_store(obj):
    """Pins `obj` for the trials of later tune.run calls; returns its id (a string)."""
    object_id = f"pinned:{next(_ids)}"
    _pinned[object_id] = obj
    return object_id


def get_pinned_object(object_id):
    """The pinned object (a numpy array as a read-only view of the shared copy)."""
    try:
        return _read_only(_pinned[object_id])
    except KeyError:
        raise _tune.TuneError(f"get_pinned_object: no object is pinned as {object_id!r} (pin it before tune.run)") \
            from None
