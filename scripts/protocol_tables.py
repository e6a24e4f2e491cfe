"""Rewrite the field cells of docs/PROTOCOL.md's "Server to client" tables from
chat/realtime/catalog.py (the contract test, tests/contract/test_catalog.py,
checks they agree). Adds a row, with a placeholder for its last column, for an
event, reply or object the tables lack; rows are never removed.

    .venv/bin/python scripts/protocol_tables.py
"""

import os
import re
import sys
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatproject.settings")
django.setup()

from chat.realtime import catalog  # noqa: E402
from tests.contract.test_catalog import objects_inside  # noqa: E402

PROTOCOL = Path(__file__).resolve().parent.parent / "docs" / "PROTOCOL.md"
ROW = re.compile(r"^\| `([^`]+)` \| ([^|]*) \|(.*)$")


def main() -> None:
    text = PROTOCOL.read_text()
    start = text.index("\n## Server to client")
    end = text.index("\n## ", start + 1)
    tables = [
        dict(catalog.EVENTS),
        dict(catalog.ACKS),
        {shape.__name__: shape for shape in objects_inside()},
    ]
    out: list[str] = []
    table = -1
    seen: set[str] = set()
    in_table = False
    for line in text[start:end].split("\n"):
        if not line.startswith("|"):
            if in_table:
                _add_missing(out, tables[table], seen, table)
            in_table = False
            out.append(line)
            continue
        if not in_table:
            in_table, table, seen = True, table + 1, set()
        match = ROW.match(line)
        if match and match.group(1) in tables[table]:
            name = match.group(1)
            seen.add(name)
            cell = catalog.fields(tables[table][name])
            line = f"| `{name}` | {cell} |{match.group(3)}"
        out.append(line)
    PROTOCOL.write_text(text[:start] + "\n".join(out) + text[end:])


def _add_missing(
    out: list[str], shapes: dict[str, type], seen: set[str], table: int
) -> None:
    # Before the table's last row for events ("ack") and replies ("any,
    # failed"), which stay last; at the end for objects.
    for name in sorted(set(shapes) - seen):
        row = f"| `{name}` | {catalog.fields(shapes[name])} |" + (
            " TODO |" if table == 0 else ""
        )
        position = len(out) - 1 if table in (0, 1) else len(out)
        out.insert(position, row)


if __name__ == "__main__":
    main()
