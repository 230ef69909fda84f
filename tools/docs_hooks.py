"""mkdocs hooks of the docs site: the reference pages are made from the code as the site is built; the guides
are a generated repository's own `docs/`, generated with the template's defaults; the toolkit's, the
runtime's and the changelog's files are included as pages. Nothing is written twice."""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path
from typing import Any

from cookiecutter.main import cookiecutter
from mkdocs.structure.files import File, Files

sys.path.insert(0, str(Path(__file__).resolve().parent))

from reference_pages import PAGES, TEMPLATE

INCLUDED = {"toolkit.md": "ci/README.md", "runtime.md": "serving/README.md", "changelog.md": "CHANGELOG.md"}
# A link to a file of a repository, not to a page beside it or a web address: on the site, its text alone.
FILE_LINK = re.compile(r"\[([^\]]+)\]\((?!https?:|#|[\w.-]+\.md(?:#[\w-]*)?\))[^)]+\)")


def as_page(text: str) -> str:
    return FILE_LINK.sub(r"\1", text)


def generated_guides() -> dict[str, str]:
    """The `docs/` pages of a repository generated with the template's default answers."""
    with tempfile.TemporaryDirectory(prefix="mlci-docs-") as scratch:
        project = Path(cookiecutter(str(TEMPLATE), no_input=True, output_dir=scratch))
        return {path.name: path.read_text(encoding="utf-8") for path in sorted((project / "docs").glob("*.md"))}


def on_files(files: Files, config: Any) -> Files:
    for uri, page in PAGES.items():
        files.append(File.generated(config, uri, content=page()))
    for name, text in generated_guides().items():
        files.append(File.generated(config, f"guides/{name}", content=as_page(text)))
    for uri, path in INCLUDED.items():
        files.append(File.generated(config, uri, content=as_page((TEMPLATE / path).read_text(encoding="utf-8"))))
    return files
