"""CSV tables (lists of row dicts) written byte-reproducibly and read back with types."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .errors import DatasetError
from .video import Table

__all__ = ["table_to_csv", "read_csv"]


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return repr(value)
    if hasattr(value, "item"):  # numpy scalar
        return _fmt(value.item())
    return str(value)


def table_to_csv(rows: Table, columns: Sequence[str] = ()) -> str:
    """CSV text with ``columns`` first (those present), then other keys in order of appearance.

    An empty table is written as the header ``columns`` alone.
    """
    present: list[str] = []
    seen: set[str] = set()
    for row in rows:
        for key in row:
            if key not in seen:
                seen.add(key)
                present.append(key)
    order = [c for c in columns if c in seen] + [k for k in present if k not in columns]
    if not rows:
        order = list(columns)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(order)
    for row in rows:
        writer.writerow([_fmt(row[k]) if k in row else "" for k in order])
    return buf.getvalue()


def _parse(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def read_csv(path: str | Path) -> Table:
    """Rows of a CSV file, numbers parsed as int or float, everything else kept as str."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            rows = []
            for row in reader:
                if None in row or None in row.values():  # a row longer or shorter than the header
                    n = sum(v is not None for k, v in row.items() if k is not None) + len(row.get(None) or ())
                    raise DatasetError(f"{path}, line {reader.line_num}: {n} field(s) where the header has "
                                       f"{len(reader.fieldnames or ())}")
                rows.append({k: _parse(v) for k, v in row.items()})
            return rows
    except FileNotFoundError:
        raise DatasetError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DatasetError(f"{path}: not a readable CSV table ({exc})") from None
