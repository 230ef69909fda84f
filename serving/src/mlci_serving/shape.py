"""How much a request's body may ask of the server, judged from its bytes before it is parsed.

Validation is dear per item: a body of one million empty records (2.9 MiB, under the size limit) cost 47 s of
validation and 2.8 GB, stalling every other client, because each item's errors are kept before the list's
length is. A body within the limits holds at most `max_records` records of the schema's fields: no more
objects than records and no more values than their fields. Counting the JSON punctuation outside strings
bounds both at the speed of a byte scan; a body past either bound is refused before any parsing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)  # a JSON string, escapes included (unrolled: fast)


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

    def counted(self, body: bytes) -> tuple[int, int]:
        """Objects and separators (`,` `:` `[`) in a body, strings included: a bound, found quickly."""
        separators = body.count(b",") + body.count(b":") + body.count(b"[")
        return body.count(b"{"), separators

    def problem(self, body: bytes) -> str | None:
        """Why a body asks more than a request within the limits can, or None when it does not."""
        objects, separators = self.counted(body)
        if objects <= self.most_objects and separators <= self.most_separators:
            return None
        objects, separators = self.counted(STRING.sub(b'""', body))  # punctuation inside strings is text
        if objects > self.most_objects:
            return f"a request holds at most {self.max_records} records, and this body holds more objects than that"
        if separators > self.most_separators:
            return (
                f"a request holds at most {self.max_records} records of {self.fields} fields each, and this body "
                "holds more values than that: send only the schema's columns"
            )
        return None
