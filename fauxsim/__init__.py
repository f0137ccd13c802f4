"""fauxsim: a deterministic discrete-event simulation of a web shop."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("fauxgenie")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
