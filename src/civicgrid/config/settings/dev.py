"""Local development and the embedded demo: SQLite, DEBUG on unless overridden."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("CIVICGRID_DEBUG", default=True)
