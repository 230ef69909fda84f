"""The package installs and reports the version its metadata declares."""

import re

from {{ cookiecutter.package_name }} import __version__


def test_version_is_semantic() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+", __version__)
