"""What happens to one line of the file: create, update (with the field diff old -> new),
skip or error (with the reason), and what the commit needs to write it."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

ACTIONS = ("create", "update", "skip", "error")


@dataclass
class Outcome:
    line: int
    raw: list
    action: str = "create"
    message: str = ""
    label: str = ""
    record_id: int | None = None
    diff: dict = field(default_factory=dict)      # {field: [old, new]} (JSON values)
    version: int | None = None                    # the record's version after the update
    # what the commit writes
    values: dict = field(default_factory=dict)
    contact: dict | None = None
    extras: list = field(default_factory=list)    # [(ImportColumn, value)]
    tags: list | None = None
    stamps: dict = field(default_factory=dict)    # created_at, last_contacted_at (creates)
    expected_version: int | None = None
    key: str = ""

    def fail(self, message) -> "Outcome":
        self.action, self.message = "error", str(message)
        return self

    def skip(self, message) -> "Outcome":
        self.action, self.message = "skip", str(message)
        return self


def jsonable(value: Any):
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)
