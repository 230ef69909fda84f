"""The docs site's reference pages, made from the code they describe: the command line from its parsers,
`mlci.toml` from its models, the template's answers from `cookiecutter.json` and the hook's checks, and a
generated repository's nox sessions from its noxfile and workflows. Nothing here is written twice."""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import types
import typing
from collections.abc import Sequence
from pathlib import Path

import yaml
from mlci.cli import command_line
from mlci.core.config import Config
from mlci.core.settings import Section
from pydantic.fields import FieldInfo

TEMPLATE = Path(__file__).resolve().parent.parent
PROJECT = TEMPLATE / "{{cookiecutter.project}}"
HELP_COLUMNS = "100"  # argparse wraps help to the terminal: the page must not depend on the one that built it


def cell(text: str) -> str:
    """Text fit for one cell of a Markdown table."""
    return text.replace("|", "\\|").replace("\n", " ")


def table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines)


# The command line


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def command_line_page() -> str:
    """Every command's `--help`, in `mlci --help`'s order."""
    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = HELP_COLUMNS
    try:
        parser = command_line()
        sections = [
            "# The command line\n",
            "Generated from the `mlci` command's own parsers when the site is built: what `--help` prints, command by "
            "command. A generated repository's nox sessions call these; see [the sessions](sessions.md).\n",
            f"```text\n{parser.format_help()}```\n",
        ]
        for name, command in subcommands(parser).items():
            sections.append(f"## mlci {name}\n\n```text\n{command.format_help()}```\n")
    finally:
        if previous is None:
            os.environ.pop("COLUMNS")
        else:
            os.environ["COLUMNS"] = previous
    return "\n".join(sections)


# mlci.toml


def type_name(annotation: object) -> str:
    """A TOML reader's name for a setting's type."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return type_name(args[0])
    if origin is typing.Literal:
        return " or ".join(f'`"{arg}"`' for arg in args)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(type_name(arg) for arg in args if arg is not type(None)) + " (optional)"
    if origin is list:
        return f"list of {type_name(args[0])}"
    if origin is dict:
        return f"table of {type_name(args[1])} by name"
    names: dict[object, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}
    return names.get(annotation) or str(getattr(annotation, "__name__", annotation))


def default_of(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True)
    if isinstance(value, Section):
        return ""
    return f"`{json.dumps(value)}`"


def meaning(owner: type[Section], key: str, field: FieldInfo) -> str:
    if not field.description:
        raise SystemExit(f"docs: {owner.__name__}.{key} has no docstring: say what the setting means under it")
    return " ".join(field.description.split())


def section_of(annotation: object) -> tuple[type[Section] | None, bool]:
    """The table a setting opens, and whether it is one table per name the user chooses (`[deploy.<stage>]`)."""
    if isinstance(annotation, type) and issubclass(annotation, Section):
        return annotation, False
    if typing.get_origin(annotation) is dict:
        value = typing.get_args(annotation)[1]
        if isinstance(value, type) and issubclass(value, Section):
            return value, True
    return None, False


def config_tables(model: type[Section], prefix: str) -> list[str]:
    """One heading and table per TOML table, nested tables after their parent."""
    rows, nested = [], []
    for key, field in model.model_fields.items():
        section, per_name = section_of(field.annotation)
        if section is None:
            rows.append((f"`{key}`", type_name(field.annotation), default_of(field), meaning(model, key, field)))
            continue
        name = f"{prefix}{key}" + (".<name>" if per_name else "")
        nested += config_tables(section, name + ".")
    heading = f"`[{prefix.rstrip('.')}]`" if prefix else "Keys outside any table"
    lines = [f"## {heading}\n\n{' '.join((model.__doc__ or '').split())}\n"]
    if rows:
        lines.append(table(("key", "type", "default", "meaning"), rows) + "\n")
    return lines + nested


def config_page() -> str:
    """Every table and key of `mlci.toml`: its type, its default and what it means."""
    return "\n".join(
        [
            "# mlci.toml\n",
            "Generated from the toolkit's config models (`mlci.core.settings`, `mlci.core.config`) when the site is "
            'built. The file is strict: a value of the wrong type (`"3001"` for a port) and a key not listed here '
            "are refused, naming the key, with the nearest known key suggested; `mlci config` checks the file and "
            "prints what it holds. A `<name>` in a table's name is yours to choose (a stage, a metric).\n",
            *config_tables(Config, ""),
        ]
    )


# The template's answers


def load_hook() -> types.ModuleType:
    """The pre-generation hook as a module, its rendered answers left empty."""
    source = (TEMPLATE / "hooks" / "pre_gen_project.py").read_text(encoding="utf-8")
    source = source.replace('r"""{{ cookiecutter | jsonify }}"""', '"{}"')
    module = types.ModuleType("pre_gen_project")
    exec(compile(source, "hooks/pre_gen_project.py", "exec"), module.__dict__)
    return module


def answers_page() -> str:
    """Each question cookiecutter asks, its default, and the rule the hook holds it to."""
    answers = json.loads((TEMPLATE / "cookiecutter.json").read_text(encoding="utf-8"))
    prompts, checks = answers["__prompts__"], load_hook().CHECKS
    unchecked = sorted(set(prompts) ^ set(checks))
    if unchecked:
        raise SystemExit(f"docs: answers asked but not checked, or checked but not asked: {', '.join(unchecked)}")
    rows = []
    for key, prompt in prompts.items():
        rule = " ".join((checks[key].__doc__ or "").split())
        rows.append((f"`{key}`", f"`{answers[key]}`", prompt, rule))
    return "\n".join(
        [
            "# The template's answers\n",
            "Generated from `cookiecutter.json` (the questions, their defaults and prompts) and from the checks of "
            "`hooks/pre_gen_project.py` when the site is built. A default in `{{ }}` is made from an earlier "
            "answer. A bad answer stops generation before anything is written, naming every problem at once:\n",
            "```text\nmlci template: these answers cannot be used, nothing was generated:\n"
            "  package_name = '2fast' starts with a digit. Use lowercase letters, digits and underscores, starting "
            "with a letter, e.g. 'penguin_species'.\n```\n",
            table(("answer", "default", "prompt", "rule"), rows) + "\n",
        ]
    )


# A generated repository's sessions


def decorated_session(node: ast.FunctionDef) -> tuple[str, bool] | None:
    """The session's name and whether `nox` runs it by default, if the function is a session."""
    for decorator in node.decorator_list:
        call = decorator if isinstance(decorator, ast.Call) else None
        target = call.func if call else decorator
        if ast.unparse(target) != "nox.session":
            continue
        keywords = {keyword.arg: ast.literal_eval(keyword.value) for keyword in (call.keywords if call else [])}
        return keywords.get("name", node.name), keywords.get("default", True)
    return None


def workflow_sessions() -> dict[str, list[str]]:
    """The workflows that call each session, by its name."""
    callers: dict[str, list[str]] = {}
    for path in sorted((PROJECT / ".github" / "workflows").glob("*.yml")):
        text = path.read_text(encoding="utf-8")
        names = set(re.findall(r"nox -s ([a-z][a-z-]*)", text))
        for job in yaml.safe_load(text).get("jobs", {}).values():
            names |= set(job.get("strategy", {}).get("matrix", {}).get("session", []))
        for name in names:
            callers.setdefault(name, []).append(path.name)
    return callers


def sessions_page() -> str:
    """Every session of a generated repository's noxfile, with the workflows that call it."""
    tree = ast.parse((PROJECT / "noxfile.py").read_text(encoding="utf-8"))
    callers, rows = workflow_sessions(), []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and (found := decorated_session(node)):
            name, default = found
            summary = " ".join((ast.get_docstring(node) or "").split())
            called_by = ", ".join(f"`{workflow}`" for workflow in callers.get(name, [])) or "people"
            rows.append((f"`nox -s {name}`", summary, "yes" if default else "", called_by))
    return "\n".join(
        [
            "# A generated repository's sessions\n",
            "Generated from the generated repository's `noxfile.py` and its workflows when the site is built. "
            "Every step of the life cycle is a session; the workflows call sessions and nothing else, so what CI "
            "runs, a person runs the same way. `nox` with no session runs the ones marked *default*. Arguments "
            "after `--` go to the command the session runs.\n",
            table(("session", "what it does", "default", "called by"), rows) + "\n",
        ]
    )


# The service's settings

EXAMPLE_SETTINGS = "Predictor = model_service(schema, MODEL, settings=ServingSettings(timeout=5, max_records=500))"


def serving_page() -> str:
    """Each field of the runtime's `ServingSettings`: its type, its default and what it does (its comment)."""
    from mlci_serving import service

    source = Path(service.__file__).read_text(encoding="utf-8")
    lines = source.splitlines()
    (settings,) = [n for n in ast.parse(source).body if isinstance(n, ast.ClassDef) and n.name == "ServingSettings"]
    defaults, rows = service.ServingSettings(), []
    for node in settings.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            name = node.target.id
            comment = lines[node.lineno - 1].partition("#")[2].strip()
            if not comment:
                raise SystemExit(f"docs: ServingSettings.{name} has no comment: say what it does beside it")
            rows.append((f"`{name}`", ast.unparse(node.annotation), f"`{getattr(defaults, name)!r}`", comment))
    return "\n".join(
        [
            "# The service's settings\n",
            "Generated from the serving runtime's `ServingSettings` (`mlci_serving.service`) when the site is built. "
            "A generated repository's `service.py` passes them to `model_service(...)`; what a stage runs with "
            "(its port, workers, address, or its Kubernetes overlay) is `[deploy.<stage>]` of "
            "[mlci.toml](config.md), and the inference log's settings are `[monitoring]`.\n",
            f"```python\n{EXAMPLE_SETTINGS}\n```\n",
            table(("setting", "type", "default", "what it does"), rows) + "\n",
        ]
    )


PAGES = {
    "reference/command-line.md": command_line_page,
    "reference/config.md": config_page,
    "reference/answers.md": answers_page,
    "reference/sessions.md": sessions_page,
    "reference/serving.md": serving_page,
}
