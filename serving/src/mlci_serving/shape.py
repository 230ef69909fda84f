"""How much a request's body may ask of the server, judged from its bytes before it is parsed.

Validation is dear per item: a body of one million empty records (2.9 MiB, under the size limit) cost 47 s of
validation and 2.8 GB, stalling every other client, because each item's errors are kept before the list's
length is. A body within the limits holds at most `max_records` records of the schema's fields: no more
objects than records and no more values than their fields. Counting the JSON punctuation bounds both at the
speed of a byte scan; only when that count is past a bound are the body's tokens walked, punctuation inside
strings left out, and the walk stops at the first token past a bound: its cost is the limit's, never the
body's (one record of 900,000 keys took 0.74 s to judge with the whole body's strings replaced, and stalled
other clients as long). A body past a bound is refused before any parsing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A JSON string (escapes included, unrolled: fast), or the punctuation that opens an object or value.
TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[{,:\[]', re.DOTALL)


@dataclass(frozen=True)
class BodyShape:
    """The most a body of `max_records` records of `fields` fields each can hold."""

    max_records: int
    fields: int  # keys a record may have: its features, its id and the columns the schema ignores

    @property
    def most_objects(self) -> int:
        return self.max_records + 1  # the records, and the body around them

    @property
    def most_separators(self) -> int:
        # a colon and a comma per field, a comma between records, and the body's own key and list
        return self.max_records * (2 * self.fields + 1) + 2

    @property
    def most_strings(self) -> int:
        return self.most_separators + self.most_objects + 1  # valid JSON has punctuation between two strings

    def problem(self, body: bytes) -> str | None:
        """Why a body asks more than a request within the limits can, or None when it does not."""
        separators = body.count(b",") + body.count(b":") + body.count(b"[")
        if body.count(b"{") <= self.most_objects and separators <= self.most_separators:
            return None  # strings included, the punctuation is within the bounds: so is the body
        objects = separators = strings = 0
        for token in TOKEN.finditer(body):
            opened = token[0]
            if opened == b"{":
                objects += 1
                if objects > self.most_objects:
                    return (
                        f"a request holds at most {self.max_records} records, and this body holds more objects "
                        "than that"
                    )
            elif opened[0] == 0x22:  # a string: its punctuation is text
                strings += 1
                if strings > self.most_strings:
                    return self.too_many_values()
            else:
                separators += 1
                if separators > self.most_separators:
                    return self.too_many_values()
        return None

    def too_many_values(self) -> str:
        return (
            f"a request holds at most {self.max_records} records of {self.fields} fields each, and this body holds "
            "more values than that: send only the schema's columns"
        )
