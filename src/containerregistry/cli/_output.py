"""What commands print on stdout: `emit` (a value), `emit_record` (one object), `emit_records` (a list),
and `report` (an action's outcome), each as a rich table, JSON (`-o json`) or tab-separated lines for
scripts (`-o plain`/`tsv`); `stderr_console` for messages. rich loads only when a table is printed.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from rich.console import Console

    from ._context import AppContext

__all__ = ["emit", "emit_record", "emit_records", "report", "stderr_console"]


def _jsonable(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, (list, tuple)):
        return ", ".join(_cell(v) for v in value)
    return str(value)


_DIGEST_RE = re.compile(r"^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$")


def _plain_cell(value: Any) -> str:
    """A field of `-o plain`/`tsv`: no tab or line break inside (they separate fields and records);
    times in ISO 8601."""
    if isinstance(value, datetime.datetime):
        text = value.isoformat()
    elif isinstance(value, (list, tuple)):
        text = ",".join(_plain_cell(v) for v in value)
    else:
        text = _cell(value)
    return re.sub(r"[\t\r\n]+", " ", text)


def _stdout_console() -> Console:
    # Resolved per call so click's CliRunner (which swaps sys.stdout) captures the output. Not a
    # terminal: a wide console, so digests are never cut or wrapped mid-way in pipes. Cells are data
    # (labels, annotations, file names): printed as they are, never read as rich markup (`[beta]` would
    # vanish) or emoji codes (`:smile:`); that also spares loading rich's emoji table.
    from rich.console import Console

    out = sys.stdout
    wide = None if out.isatty() else 4096
    return Console(file=out, width=wide, highlight=False, soft_wrap=False, markup=False, emoji=False)


def stderr_console() -> Console:
    """A console on stderr (messages, steps, progress)."""
    from rich.console import Console

    return Console(file=sys.stderr, highlight=False)


def emit(app: AppContext, data: Any, *, text: str | None = None) -> None:
    """Print a value: JSON with `-o json`, else `text` (or the value itself) as a line."""
    if app.json:
        click.echo(json.dumps(_jsonable(data), indent=2))
    else:
        click.echo(text if text is not None else _cell(data))


def report(app: AppContext, data: Any, message: str) -> None:
    """The outcome of an action: JSON on stdout with `-o json`, else a message on stderr."""
    if app.json:
        click.echo(json.dumps(_jsonable(data), indent=2))
    else:
        click.echo(message, err=True)


def emit_record(app: AppContext, record: Any, *, title: str | None = None) -> None:
    """Print one object: JSON, or a two-column table of its fields."""
    data = _jsonable(record)
    if app.json:
        click.echo(json.dumps(data, indent=2))
        return
    if app.plain:
        fields_ = (
            {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}
            if dataclasses.is_dataclass(record) and not isinstance(record, type)
            else dict(record)
        )
        for name, value in fields_.items():
            if isinstance(value, list) and value and dataclasses.is_dataclass(value[0]):
                value = [json.dumps(_jsonable(v), separators=(",", ":")) for v in value]
            click.echo(f"{name}\t{_plain_cell(value)}")
        return
    from rich.table import Table

    table = Table(title=title, show_header=False, box=None, pad_edge=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    fields = (
        {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}
        if dataclasses.is_dataclass(record) and not isinstance(record, type)
        else dict(record)
    )
    for name, value in fields.items():
        if isinstance(value, list) and value and dataclasses.is_dataclass(value[0]):
            value = [json.dumps(_jsonable(v), separators=(",", ":")) for v in value]
        table.add_row(name, _cell(value))
    _stdout_console().print(table)


def emit_records(
    app: AppContext,
    records: Iterable[Any],
    columns: Sequence[tuple[str, Callable[[Any], Any]]],
    *,
    title: str | None = None,
) -> list[Any]:
    """Print a list: JSON (every field of every item), or a rich table of `columns`.

    Returns:
        The items, so callers can act on them (the listing is consumed once).
    """
    items = list(records)
    if app.json:
        click.echo(json.dumps([_jsonable(item) for item in items], indent=2))
        return items
    if app.plain:
        if app.output == "tsv":
            click.echo("\t".join(_plain_cell(header) for header, _ in columns))
        for item in items:
            click.echo("\t".join(_plain_cell(getter(item)) for _, getter in columns))
        return items
    from rich.table import Table

    rows = [[_cell(getter(item)) for _, getter in columns] for item in items]
    table = Table(title=title)
    for index, (header, _) in enumerate(columns):
        # A digest is copied and pasted: never folded over two lines, even on a narrow terminal.
        digests = [len(row[index]) for row in rows if _DIGEST_RE.match(row[index])]
        if digests:
            table.add_column(header, no_wrap=True, min_width=max(digests))
        else:
            table.add_column(header, overflow="fold")
    for row in rows:
        table.add_row(*row)
    _stdout_console().print(table)
    return items
