"""tune.track.log: Ray 0.8's name for tune.report in function trainables."""
from .session import report as log  # noqa: F401
