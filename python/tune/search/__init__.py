"""tune.search: the later name of tune.suggest."""
from ..suggest import *  # noqa: F401,F403
from ..suggest import __all__  # noqa: F401
