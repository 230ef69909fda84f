"""Bad requests in the server's log as one line each, without the values they held.

BentoML logs every refused request as an error with its traceback, whose validation message
repeats the values sent: personal data, in the log of every bad request. The answer (400, each
field named) is unchanged; only the log line is cut down to where and how many fields were wrong.
"""

from __future__ import annotations

import logging

from pydantic import ValidationError

BENTOML_REQUEST_LOGGER = "bentoml._internal.server.http_app"


class OneLineRefusals(logging.Filter):
    """Turn the log record of a refused request into one line naming only the fields."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, ValidationError):
            places = {".".join(str(part) for part in item["loc"]) for item in error.errors()}
            record.msg = "refused a request: %d invalid field(s): %s"
            record.args = (error.error_count(), ", ".join(sorted(places)))
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.exc_info, record.exc_text = None, None
        return True


def install() -> None:
    """Filter BentoML's request log in this process (once)."""
    logger = logging.getLogger(BENTOML_REQUEST_LOGGER)
    if not any(isinstance(existing, OneLineRefusals) for existing in logger.filters):
        logger.addFilter(OneLineRefusals())
