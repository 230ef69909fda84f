"""Bad requests in the server's log as one line each, without the values they held.

BentoML logs every refused request as an error with its traceback, whose validation message
repeats the values sent: personal data, in the log of every bad request. The answer (400, each
field named) is unchanged; only the log line is cut down to where and how many fields were wrong.
A field name is the client's text: it is written escaped (a newline in it cannot forge a line of
the log, nor an escape code reach a terminal) and cut short, as the answer cuts it (`contract`).
"""

from __future__ import annotations

import logging

from pydantic import ValidationError

from mlci_serving.contract import MORE_ERRORS

BENTOML_REQUEST_LOGGER = "bentoml._internal.server.http_app"
LONGEST_PLACE = 120  # characters of one place named in the log


def escaped(part: int | str) -> str:
    """A part of a field's place as the log may show it: printable, or escaped as Python writes it."""
    text = str(part)
    return text if text.isprintable() else repr(text)[1:-1]


def place(location: tuple[int | str, ...]) -> str:
    written = ".".join(escaped(part) for part in location)
    return written if len(written) <= LONGEST_PLACE else written[:LONGEST_PLACE] + "…"


def counted(error: ValidationError) -> tuple[int, list[str]]:
    """How many problems a refusal has, and the places of those it shows."""
    problems = error.errors(include_input=False)
    shown = [place(problem["loc"]) for problem in problems if problem["type"] != MORE_ERRORS]
    hidden = sum(problem.get("ctx", {}).get("more", 0) for problem in problems if problem["type"] == MORE_ERRORS)
    return len(shown) + hidden, sorted(set(shown)) + (["…"] if hidden else [])


class OneLineRefusals(logging.Filter):
    """Turn the log record of a refused request into one line naming only the fields."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, ValidationError):
            count, places = counted(error)
            record.msg = "refused a request: %d invalid field(s): %s"
            record.args = (count, ", ".join(places))
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.exc_info, record.exc_text = None, None
        return True


def install() -> None:
    """Filter BentoML's request log in this process (once)."""
    logger = logging.getLogger(BENTOML_REQUEST_LOGGER)
    if not any(isinstance(existing, OneLineRefusals) for existing in logger.filters):
        logger.addFilter(OneLineRefusals())
