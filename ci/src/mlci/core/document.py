"""A report as a list of blocks, written twice: GitHub-flavoured Markdown and one self-contained HTML file."""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Paragraph:
    """Text with Markdown's `**bold**` and `` `code` `` only."""

    text: str


@dataclass(frozen=True)
class Items:
    items: list[str]


@dataclass(frozen=True)
class Table:
    header: list[str]
    rows: list[list[str]]


@dataclass(frozen=True)
class Chart:
    """A plot: Mermaid source for the Markdown, and a PNG file (beside the report) for the HTML."""

    caption: str
    mermaid: str
    png: str


Block = Heading | Paragraph | Items | Table | Chart


OPENS_HTML = re.compile(r"<(?=[A-Za-z/!?])")  # a tag, a comment, a declaration or an autolink begins
NAMES_ENTITY = re.compile(r"&(?=#[0-9]+;|#[xX][0-9a-fA-F]+;|[A-Za-z][A-Za-z0-9]*;)")


def text_of(text: str) -> str:
    """Text as Markdown shows it, whatever it holds: a `<` that would open an HTML tag or comment, and a `&` that
    would name an entity, written as entities, so that a value from the data (a category, a column's name) can
    hide nothing of a report; `<= 0.05` and `PSI > 0.2` stay as they read."""
    return OPENS_HTML.sub("&lt;", NAMES_ENTITY.sub("&amp;", text))


def cell(text: str) -> str:
    return text_of(text).replace("|", "\\|").replace("\n", " ")


def to_markdown(blocks: list[Block]) -> str:
    parts = []
    for block in blocks:
        if isinstance(block, Heading):
            parts.append(f"{'#' * block.level} {text_of(block.text)}")
        elif isinstance(block, Paragraph):
            parts.append(text_of(block.text))
        elif isinstance(block, Items):
            parts.append("\n".join(f"- {text_of(item)}" for item in block.items))
        elif isinstance(block, Table):
            lines = [block.header, ["---"] * len(block.header), *block.rows]
            parts.append("\n".join("| " + " | ".join(cell(c) for c in line) + " |" for line in lines))
        else:
            parts.append(f"```mermaid\n{block.mermaid}\n```\n\n{block.caption}")
    return "\n\n".join(parts) + "\n"


def inline(text: str) -> str:
    """Escape text for HTML, then render `**bold**` and `` `code` ``."""
    escaped = html.escape(text)
    escaped = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", escaped)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", escaped)


STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1f2328}"
    "table{border-collapse:collapse;margin:1rem 0}th,td{border:1px solid #d0d7de;padding:.3rem .6rem;text-align:left}"
    "th{background:#f6f8fa}code{background:#f6f8fa;padding:0 .2rem}img{max-width:100%}"
)


def to_html(blocks: list[Block], title: str, folder: Path) -> str:
    """One HTML file with its styles inline and its images as data URIs: nothing is fetched from anywhere."""
    body = []
    for block in blocks:
        if isinstance(block, Heading):
            body.append(f"<h{block.level}>{inline(block.text)}</h{block.level}>")
        elif isinstance(block, Paragraph):
            body.append(f"<p>{inline(block.text)}</p>")
        elif isinstance(block, Items):
            body.append("<ul>" + "".join(f"<li>{inline(item)}</li>" for item in block.items) + "</ul>")
        elif isinstance(block, Table):
            head = "".join(f"<th>{inline(c)}</th>" for c in block.header)
            rows = "".join("<tr>" + "".join(f"<td>{inline(c)}</td>" for c in row) + "</tr>" for row in block.rows)
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        else:
            data = base64.b64encode((folder / block.png).read_bytes()).decode()
            body.append(
                f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(block.caption)}">'
                f"<figcaption>{inline(block.caption)}</figcaption></figure>"
            )
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{STYLE}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )
