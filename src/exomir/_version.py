"""The installed version of exomir, stamped into every output (kept apart from ``exomir/__init__``
so that modules can name the version without importing the whole public face)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("exomir")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+local"
