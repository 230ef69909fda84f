"""The {{ cookiecutter.project }} model: its data, training and service."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("{{ cookiecutter.project }}")
except PackageNotFoundError:  # served from a bento, which carries the code but not the distribution
    __version__ = "0+unknown"
