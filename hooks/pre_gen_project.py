"""Refuse bad answers before cookiecutter writes anything, naming the field, the value and what would do."""

from __future__ import annotations

import json
import keyword
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ANSWERS: dict[str, Any] = json.loads(r"""{{ cookiecutter | jsonify }}""")

PYTHON_VERSIONS = ("3.11", "3.12", "3.13")
LICENSES = ("MIT", "Apache-2.0", "BSD-3-Clause", "Proprietary")
STORAGE_SCHEMES = ("s3", "gs", "azure")
# Names the generated package must not take: it would shadow a dependency of the generated repository.
TAKEN_PACKAGE_NAMES = {"mlci", "dvc", "gto", "bentoml", "great_expectations", "pandas", "numpy", "sklearn", "tests"}

# The project also names Kubernetes objects, labels and namespaces (`<project>-inference-log`), at most 63 characters.
MAX_PROJECT = 48
# The package is named in the generated code's imports and commands, whose lines are 100 characters at most: every
# line that names it fits with a name this long (the tests generate one). The default, from the project, fits too.
MAX_PACKAGE = 48
# The project's name, free text: the default `project` is its slug, cut at this length so that cookiecutter can make
# the folder (a name longer than the file system allows ended in its traceback) and this hook can refuse it.
MAX_PROJECT_NAME = 100
PROJECT = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
PACKAGE = re.compile(r"[a-z_][a-z0-9_]*")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")


def check_line(value: str) -> str | None:
    """Free text on one line: not empty, no control characters."""
    if not value.strip():
        return "is empty. Give a short text on one line."
    if any(ord(char) < 32 or ord(char) == 127 for char in value):
        return "must be a single line with no control characters."
    return None


def check_project_name(value: str) -> str | None:
    """Free text on one line, at most 100 characters: its slug is the default repository name."""
    if len(value) > MAX_PROJECT_NAME:
        return f"is {len(value)} characters long. Keep it to {MAX_PROJECT_NAME}: its slug names the repository."
    return check_line(value)


def check_project(value: str) -> str | None:
    """Lowercase letters and digits, words joined by single hyphens, starting with a letter; at most 48
    characters, since it also names the Kubernetes objects and namespaces of the deploy manifests."""
    if len(value) > MAX_PROJECT:
        return (
            f"is {len(value)} characters long. Keep it to {MAX_PROJECT}: it names a folder, a package, and the "
            "Kubernetes objects and namespaces of the deploy manifests (63 characters at most, suffixes included)."
        )
    if not PROJECT.fullmatch(value):
        return (
            "is not a valid name. Use lowercase letters and digits, words joined by single hyphens, "
            "starting with a letter, e.g. 'penguin-species'."
        )
    return None


def check_package(value: str) -> str | None:
    """Lowercase letters, digits and underscores, starting with a letter; at most 48 characters; not a Python
    keyword, a standard-library module or a dependency's name (`mlci`, `dvc`, `pandas`, ...)."""
    if len(value) > MAX_PACKAGE:
        return (
            f"is {len(value)} characters long. Keep it to {MAX_PACKAGE}: the generated code names it in lines of "
            "100 characters at most."
        )
    if not PACKAGE.fullmatch(value):
        hint = "starts with a digit" if value[:1].isdigit() else "is not a valid Python package name"
        return f"{hint}. Use lowercase letters, digits and underscores, starting with a letter, e.g. 'penguin_species'."
    if keyword.iskeyword(value) or keyword.issoftkeyword(value):
        return "is a Python keyword. Choose another name, e.g. 'my_" + value + "'."
    if value in sys.stdlib_module_names or value in TAKEN_PACKAGE_NAMES:
        return "would shadow a module of the standard library or a dependency. Choose another name."
    return None


def check_email(value: str) -> str | None:
    """An e-mail address, `name@domain.tld`."""
    if not EMAIL.fullmatch(value):
        return "is not an e-mail address. Give one like 'name@example.com'."
    return None


def check_choice(choices: tuple[str, ...]) -> Callable[[str], str | None]:
    """One of a fixed set of answers."""

    def check(value: str) -> str | None:
        if value not in choices:
            return f"is not supported. Choose one of: {', '.join(choices)}."
        return None

    check.__doc__ = f"One of: {', '.join(choices)}."
    return check


UNSAFE_IN_LOCATIONS = set("\"'\\`$;") | {chr(code) for code in range(32)} | {"\x7f"}


def check_location_text(value: str) -> str | None:
    """A path or URL that lands in TOML, INI and shell alike: no quotes, escapes, comments or control characters."""
    unsafe = sorted({char for char in value if char in UNSAFE_IN_LOCATIONS})
    if unsafe:
        shown = ", ".join(repr(char) for char in unsafe)
        return f"contains {shown}, which a path or URL here may not hold (it would change the files it lands in)."
    return None


def check_credentials(value: str) -> str | None:
    """Credentials never belong in a URL that is committed."""
    if re.match(r"^[\w.+-]+://[^/@]*@", value):
        return (
            "carries credentials, which would be committed with the repository. Remove them from the URL: DVC, "
            "fsspec and the service read them from the environment (AWS_ACCESS_KEY_ID, ...) or ~/.aws/credentials."
        )
    return None


def check_storage(value: str) -> str | None:
    """An absolute or `~` folder outside the repository, or an `s3://`, `gs://` or `azure://` URL naming a bucket or
    container; no credentials, quotes, `$`, `;`, `#` or control characters (it lands in TOML, INI and shell)."""
    problem = check_location_text(value) or check_credentials(value)
    if problem:
        return problem
    if "#" in value:
        return "contains '#', which DVC's config reads as the start of a comment. Choose a location without it."
    if "://" in value:
        scheme, _, rest = value.partition("://")
        if scheme not in STORAGE_SCHEMES:
            return (
                f"has an unknown scheme '{scheme}://'. Use {', '.join(s + '://' for s in STORAGE_SCHEMES)} or a folder."
            )
        if not rest.strip("/"):
            return f"names no bucket or container. Give one, e.g. '{scheme}://my-bucket/{ANSWERS['project']}'."
        return None
    if not (value.startswith("~") or os.path.isabs(value)):
        return (
            "is a relative path, which DVC and mlci would resolve from different folders. "
            f"Give an absolute path or one under ~, e.g. '~/mlci-storage/{ANSWERS['project']}'."
        )
    if "_output_dir" not in ANSWERS:  # a template update renders the answers again, away from the repository
        return None
    repository = Path(ANSWERS["_output_dir"], ANSWERS["project"]).resolve()
    storage = Path(value).expanduser().resolve()
    if storage == repository or repository in storage.parents:
        return "is inside the generated repository. Storage must live outside it, e.g. beside it."
    return None


def check_mlci_source(value: str) -> str | None:
    """A `git+https://`, `git+ssh://` or `git+file://` URL ending in `#subdirectory=ci`, or the absolute path of a
    checkout's `ci/` folder; the serving runtime is the same checkout's `serving/` folder."""
    problem = check_location_text(value) or check_credentials(value.removeprefix("git+"))
    if problem:
        return problem
    if value.startswith("git+"):
        if not re.match(r"git\+(https|ssh|file)://\S+#subdirectory=ci$", value):
            return (
                "is not a git URL of the toolkit's ci/ folder. Use e.g. "
                "'git+https://github.com/OWNER/mlci@v0.1.0#subdirectory=ci' (its runtime is serving/ beside it)."
            )
        return None
    if not os.path.isabs(value):
        return "is neither a git+ URL nor an absolute path. Give the absolute path of the template's ci/ folder."
    if not Path(value, "pyproject.toml").is_file():
        return "has no pyproject.toml. Give the path of the template's ci/ folder, where mlci's pyproject.toml is."
    if not Path(value.rstrip("/")).parent.joinpath("serving", "pyproject.toml").is_file():
        return "has no serving/ folder beside it. Give the ci/ folder of a checkout of the template, which holds both."
    return None


CHECKS: dict[str, Callable[[str], str | None]] = {
    "project_name": check_project_name,
    "project": check_project,
    "package_name": check_package,
    "description": check_line,
    "author_name": check_line,
    "author_email": check_email,
    "python_version": check_choice(PYTHON_VERSIONS),
    "license": check_choice(LICENSES),
    "storage": check_storage,
    "mlci_source": check_mlci_source,
}


def problems(answers: dict[str, Any]) -> list[str]:
    """Every bad answer, one message each."""
    found = []
    for field, check in CHECKS.items():
        value = str(answers[field])
        message = check(value)
        if message:
            found.append(f"  {field} = {value!r} {message}")
    return found


def main() -> int:
    found = problems(ANSWERS)
    if found:
        print("mlci template: these answers cannot be used, nothing was generated:", file=sys.stderr)
        print("\n".join(found), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
