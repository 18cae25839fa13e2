"""flowledger: observability and governance analytics for workflow automation."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("flowledger")
except PackageNotFoundError:  # running from a checkout without an install
    __version__ = "0.0.0+local"
