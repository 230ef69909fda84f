"""The {{ cookiecutter.project }} model: its data, training and service."""

from importlib.metadata import version

__version__ = version("{{ cookiecutter.project }}")
