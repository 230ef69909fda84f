"""The docs site: built strictly, fetching nothing from another host, its references made from the code, and
its hand-written pages naming only commands, sessions and messages that exist."""

from __future__ import annotations

import ast
import dataclasses
import html.parser
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import TEMPLATE, generate
from mlci.cli import command_line
from mlci_serving.service import ServingSettings
from pydantic import Field

sys.path.insert(0, str(TEMPLATE / "tools"))

import bench_page
import reference_pages
from mlci.core.config import Config
from mlci.core.settings import Section

DOCS = TEMPLATE / "docs"
GENERATED_DOCS = TEMPLATE / "{{cookiecutter.project}}" / "docs"
OTHER_TOOLS = ("DVC:", "uv:", "AWS:", "GitHub:")  # troubleshooting headings quoting another tool's message


class Fetches(html.parser.HTMLParser):
    """Every address a page loads by itself: scripts, style sheets, images, frames, icons, fonts."""

    def __init__(self) -> None:
        super().__init__()
        self.loaded: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in ("script", "img", "iframe", "source", "video", "audio") and values.get("src"):
            self.loaded.append(str(values["src"]))
        if tag == "link" and values.get("rel") not in (None, "canonical", "prev", "next") and values.get("href"):
            self.loaded.append(str(values["href"]))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    built = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(built)],
        cwd=TEMPLATE,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, result.stdout + result.stderr  # strict: a broken link or anchor fails
    return built


def test_the_site_fetches_nothing_from_another_host(site: Path) -> None:
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > 30
    for page in pages:
        parser = Fetches()
        parser.feed(page.read_text(encoding="utf-8"))
        remote = [address for address in parser.loaded if re.match(r"(https?:)?//", address)]
        assert remote == [], page
    styles = "\n".join(path.read_text(encoding="utf-8") for path in site.rglob("*.css"))
    assert not re.search(r"@import\s+url\(\s*['\"]?(https?:)?//", styles)  # e.g. Google's fonts


def test_the_reference_pages_hold_every_command_setting_answer_and_session(site: Path) -> None:
    reference = site / "reference"
    commands = (reference / "command-line.html").read_text(encoding="utf-8")
    for name in reference_pages.subcommands(command_line()):
        assert f'id="mlci-{name}"' in commands, name
    settings = (reference / "config.html").read_text(encoding="utf-8")
    for key in ("psi_threshold", "max_regression", "flush_seconds", "endpoint", "outcome_metrics", "overlay"):
        assert f"<code>{key}</code>" in settings, key
    for table in ("registry", "deploy.&lt;name&gt;", "kpi", "contract"):
        assert f"[{table}]" in settings, table
    answers = (reference / "answers.html").read_text(encoding="utf-8")
    for answer in ("project_name", "package_name", "storage", "mlci_source"):
        assert f"<code>{answer}</code>" in answers, answer
    serving = (reference / "serving.html").read_text(encoding="utf-8")
    for setting in dataclasses.fields(ServingSettings):
        assert f"<code>{setting.name}</code>" in serving, setting.name
    sessions = (reference / "sessions.html").read_text(encoding="utf-8")
    for session in ("repro", "kind-proof", "kpi-check", "template-update"):
        assert f"<code>nox -s {session}</code>" in sessions, session


def test_the_guides_are_the_generated_repositorys_own_pages(site: Path) -> None:
    guides = sorted(path.stem for path in (site / "guides").glob("*.html"))
    assert guides == sorted(path.stem for path in GENERATED_DOCS.glob("*.md"))
    kubernetes = (site / "guides" / "kubernetes.html").read_text(encoding="utf-8")
    assert "penguin-species-production" in kubernetes  # rendered with the template's defaults, no Jinja left
    assert "cookiecutter." not in kubernetes
    assert "{{" not in kubernetes


def test_every_setting_says_what_it_means() -> None:
    def tables(model: type[Section]) -> list[type[Section]]:
        found = [model]
        for field in model.model_fields.values():
            section, _ = reference_pages.section_of(field.annotation)
            found += tables(section) if section else []
        return found

    for model in tables(Config):
        for key, field in model.model_fields.items():
            if reference_pages.section_of(field.annotation)[0] is None:
                assert reference_pages.meaning(model, key, field), f"{model.__name__}.{key}"

    class Undocumented(Section):
        threshold: float = Field(default=1.0)

    with pytest.raises(SystemExit, match=r"Undocumented\.threshold has no docstring"):
        reference_pages.config_tables(Undocumented, "")


def test_each_answers_rule_states_its_limit() -> None:
    hook = reference_pages.load_hook()
    assert f"at most {hook.MAX_PROJECT_NAME} characters" in hook.check_project_name.__doc__
    assert f"at most {hook.MAX_PROJECT}" in hook.check_project.__doc__
    assert f"at most {hook.MAX_PACKAGE}" in hook.check_package.__doc__
    assert hook.CHECKS["license"].__doc__ == f"One of: {', '.join(hook.LICENSES)}."
    assert hook.CHECKS["python_version"].__doc__ == f"One of: {', '.join(hook.PYTHON_VERSIONS)}."


def hand_written() -> dict[Path, str]:
    paths = [*DOCS.rglob("*.md"), *GENERATED_DOCS.glob("*.md"), TEMPLATE / "README.md"]
    paths += [TEMPLATE / "{{cookiecutter.project}}" / "README.md", TEMPLATE / "ci" / "README.md"]
    paths += [TEMPLATE / "serving" / "README.md", TEMPLATE / "CHANGELOG.md"]
    return {path: path.read_text(encoding="utf-8") for path in paths if path.name != "benchmarks.md"}


def session_names(noxfile: Path) -> set[str]:
    tree = ast.parse(noxfile.read_text(encoding="utf-8"))
    found = (reference_pages.decorated_session(node) for node in tree.body if isinstance(node, ast.FunctionDef))
    return {name for name, _ in filter(None, found)}


def test_hand_written_pages_name_only_commands_and_sessions_that_exist() -> None:
    commands = set(reference_pages.subcommands(command_line()))
    generated = TEMPLATE / "{{cookiecutter.project}}" / "noxfile.py"
    sessions = session_names(TEMPLATE / "noxfile.py") | session_names(generated)
    named_commands, named_sessions = set(), set()
    for path, text in hand_written().items():
        code = re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.DOTALL) + re.findall(r"`([^`\n]+)`", text)
        commanded = r"(?:^|\$ |uv run |&& )mlci ([a-z][a-z-]*)(?=\s|$)"  # where a command line starts
        for name in re.findall(commanded, "\n".join(code), flags=re.MULTILINE):
            named_commands.add(name)
            assert name in commands, f"{path.name} names `mlci {name}`, which the command line lacks"
        for group in re.findall(r"nox -s ((?:[a-z][a-z-]* ?)+)", "\n".join(code)):
            for name in group.split():
                named_sessions.add(name)
                assert name in sessions, f"{path.name} names `nox -s {name}`, which no noxfile has"
    assert {"adopt", "promote", "score", "template-update"} <= named_commands  # the scan finds what is there
    assert {"repro", "docs", "bench", "kind-proof"} <= named_sessions


def string_literals() -> list[str]:
    """Every string the code can print, an f-string's values shown as `…`."""
    sources = [*(TEMPLATE / "ci" / "src").rglob("*.py"), *(TEMPLATE / "serving" / "src").rglob("*.py")]
    sources += [TEMPLATE / "{{cookiecutter.project}}" / "noxfile.py"]
    found = []
    for source in sources:
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.JoinedStr):
                parts = (str(part.value) if isinstance(part, ast.Constant) else "…" for part in node.values)
                found.append("".join(parts))
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.append(node.value)
    return found


def test_troubleshooting_quotes_messages_the_code_prints() -> None:
    headings = re.findall(r"(?m)^### (.+)$", (DOCS / "troubleshooting.md").read_text(encoding="utf-8"))
    quoted = [heading.strip("`") for heading in headings if not heading.startswith(OTHER_TOOLS)]
    assert len(quoted) >= 15
    literals = string_literals()
    for message in quoted:
        pattern = re.compile(".*?".join(re.escape(part) for part in message.split("…")))
        assert any(pattern.search(literal) for literal in literals), f"no code prints: {message}"


def test_the_readmes_are_short_and_link_every_page(tmp_path: Path) -> None:
    assert len((TEMPLATE / "README.md").read_text(encoding="utf-8").splitlines()) <= 150
    project = generate(tmp_path)
    readme = (project / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 160  # the dataset's table included
    pages = {f"docs/{path.name}" for path in (project / "docs").glob("*.md")}
    linked = set(re.findall(r"\]\((docs/[\w-]+\.md)\)", readme))
    assert linked == pages  # every guide is reachable from the README, and every link has its page


def test_a_benchmark_run_writes_its_page_only_when_it_completes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "benchmarks.md"
    with bench_page.recorded(page, ["--parts", "scoring"], tmp_path):
        print(f"==> Generate a repository into {tmp_path}/build/bench")
        print("Machine: a test, 2 cores   ")  # trailing spaces: the page keeps none
    text = page.read_text(encoding="utf-8")
    assert "Machine: a test, 2 cores\n```" in text
    assert "==> Generate a repository into build/bench\n" in text  # no machine's folders
    assert "`nox -s bench -- --parts scoring`" in text
    assert re.search(r"\*\*date\*\*: \d{4}-\d\d-\d\d \d\d:\d\d UTC", text)
    assert "Machine: a test, 2 cores" in capsys.readouterr().out  # still printed as it runs
    failed = tmp_path / "failed.md"
    with pytest.raises(SystemExit):
        half_a_run(failed)
    assert not failed.exists()


def half_a_run(page: Path) -> None:
    with bench_page.recorded(page, [], page.parent):
        print("half a run")
        sys.exit("bench: a part failed")
