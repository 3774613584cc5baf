"""Read signals from CSV: a header row, then one observation a row (SPEC 1.3).

Columns: `ts, source, dimension, target, metric, value` and optional `effective_at,
expected_until, ref, shipment, note`. An area replaces `target`: `area_circle` holds
"lat lon radius_km", `area_polygon` holds "lat lon; lat lon; ..." (semicolons between points,
so the cell needs no quoting beyond CSV's own). Other columns are kept as extras.
"""

from __future__ import annotations

import csv
import io

import pandas as pd

from twin.domain.problems import Problem
from twin.domain.signals import Quarantined
from twin.feeds.batch import Batch, empty_frame
from twin.feeds.rows import validate_rows

REQUIRED_COLUMNS = ("ts", "source", "dimension", "metric", "value")
PLACE_COLUMNS = ("target", "area_circle", "area_polygon")


def read_signal_csv(text: str, file: str, max_bad: int | None = None) -> Batch:
    """Signals from CSV text. A row with the wrong number of cells or a bad value is
    quarantined (`row N` counts the header as row 1); the other rows load. Reading stops once
    more than `max_bad` rows are bad (the caller then sets the whole file aside)."""
    batch = Batch(file=file, format="csv", frame=empty_frame())
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    rows: list[list[str]] = []
    wheres: list[str] = []
    number = 0
    while True:
        line_before = reader.line_num
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            number += 1
            _reject(batch, f"row {number}", None, f"bad CSV: {exc}", "")
            if max_bad is not None and len(batch.quarantine) > max_bad:
                return batch
            if reader.line_num == line_before:
                break  # the reader cannot move on: nothing more to read
            continue
        number += 1
        if header is None:
            if not any(c.strip() for c in cells):
                number -= 1  # leading blank lines are not the header
                continue
            header = [c.strip() for c in cells]
            continue
        if not any(c.strip() for c in cells):
            continue
        batch.rows += 1
        if len(cells) != len(header):
            _reject(
                batch,
                f"row {number}",
                None,
                f"has {len(cells)} cells, the header has {len(header)}",
                _join(cells),
            )
            if max_bad is not None and len(batch.quarantine) > max_bad:
                return batch
            continue
        rows.append(cells)
        wheres.append(f"row {number}")
    if header is None:
        return batch
    header_errors = _check_header(header)
    if header_errors:
        for name, message in header_errors:
            batch.problems.append(Problem(file, "row 1", name, message))
        # every row would fail the same way: the file is quarantined whole (twin.feeds.ingest)
        return batch
    table = pd.DataFrame(rows, columns=header, dtype=object)
    for name in header:
        stripped = table[name].str.strip()
        table[name] = stripped.where(stripped != "", None)
    found = validate_rows(
        table,
        file=file,
        fmt="csv",
        wheres=wheres,
        raw=lambda i: _join(rows[i]),
        csv_areas=True,
        max_bad=None if max_bad is None else max_bad - len(batch.quarantine),
    )
    found.rows = batch.rows
    found.problems[:0] = batch.problems
    found.quarantine[:0] = batch.quarantine
    return found


def _check_header(header: list[str]) -> list[tuple[str | None, str]]:
    errors: list[tuple[str | None, str]] = []
    if "" in header:
        errors.append((None, "a header column has no name"))
    for name in sorted({n for n in header if header.count(n) > 1}):
        errors.append((name, "column appears more than once"))
    for name in REQUIRED_COLUMNS:
        if name not in header:
            errors.append((name, f"missing column '{name}'"))
    if not any(name in header for name in PLACE_COLUMNS):
        errors.append(("target", "missing column 'target' (or 'area_circle' / 'area_polygon')"))
    return errors


def _reject(batch: Batch, where: str, name: str | None, message: str, raw: str) -> None:
    batch.problems.append(Problem(batch.file, where, name, message))
    batch.quarantine.append(
        Quarantined(file=batch.file, where=where, field=name, reason=message, raw=raw)
    )


def _join(cells: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(cells)
    return out.getvalue()
