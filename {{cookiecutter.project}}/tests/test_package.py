"""The package installs and reports the version its metadata declares."""

import re

import {{ cookiecutter.package_name }}


def test_version_is_semantic() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+", {{ cookiecutter.package_name }}.__version__)
