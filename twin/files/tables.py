"""Read YAML documents and CSV tables into raw entries that remember where they came from."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import yaml

from twin.domain.problems import InputError, Problem
from twin.files.limits import current_limits, max_file_bytes, yaml_size_problem
from twin.network.schema import RawEntry

try:  # the C loader is several times faster on 20,000-lane files
    _SafeLoader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - pure-Python PyYAML
    _SafeLoader = yaml.SafeLoader


def read_yaml(path: Path) -> Any:
    """Parse a YAML file safely; any failure becomes an InputError naming file, line and column.

    The document is composed first and measured (twin.files.limits): one whose aliases expand
    past `[limits] yaml_nodes` values or that nests deeper than `depth` is refused before any
    Python object is built from it."""
    text = read_text(path)
    limits = current_limits()
    try:
        loader = _SafeLoader(text)  # a safe loader: no arbitrary Python objects
        try:
            node = loader.get_single_node()
            if node is None:
                return None
            problem = yaml_size_problem(node, limits.yaml_nodes, limits.depth)
            if problem is not None:
                raise InputError([Problem(str(path), "", None, f"refused: {problem}")])
            return loader.construct_document(node)
        finally:
            loader.dispose()
    except InputError:
        raise
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError([Problem(str(path), where, None, f"not valid YAML: {reason}")]) from None
    except (ValueError, TypeError, RecursionError) as exc:
        raise InputError([Problem(str(path), "", None, f"not valid YAML: {exc}")]) from None


def read_text(path: Path) -> str:
    """A file's UTF-8 text; refused (InputError) over `[limits] file_mb` without reading it."""
    try:
        size = path.stat().st_size
        if size > max_file_bytes() and path.is_file():
            limit = current_limits().file_mb
            raise InputError(
                [
                    Problem(
                        str(path), "", None, f"larger than {limit:g} MiB ({size} bytes), not read"
                    )
                ]
            )
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError([Problem(str(path), "", None, "no such file")]) from None
    except IsADirectoryError:
        raise InputError([Problem(str(path), "", None, "is a folder, not a file")]) from None
    except OSError as exc:
        raise InputError([Problem(str(path), "", None, f"cannot read: {exc.strerror}")]) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            [Problem(str(path), f"byte {exc.start}", None, "not UTF-8 text")]
        ) from None


def read_csv_entries(path: Path) -> list[RawEntry]:
    """Rows of a CSV file with a header, as raw entries positioned `row N` (N counts the
    header as row 1, as spreadsheets do). Short rows, long rows and NULs are reported."""
    text = read_text(path)
    if "\x00" in text:
        raise InputError([Problem(str(path), "", None, "contains NUL bytes; not a CSV text file")])
    reader = csv.reader(io.StringIO(text, newline=""))
    problems: list[Problem] = []
    entries: list[RawEntry] = []
    try:
        header = next(reader, None)
        if not header or not any(h.strip() for h in header):
            raise InputError([Problem(str(path), "row 1", None, "missing header row")])
        names = [h.strip() for h in header]
        if "" in names:
            problems.append(Problem(str(path), "row 1", None, "a header column has no name"))
        for name in {n for n in names if names.count(n) > 1}:
            problems.append(Problem(str(path), "row 1", name, "column appears more than once"))
        for number, row in enumerate(reader, start=2):
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(names):
                problems.append(
                    Problem(
                        str(path),
                        f"row {number}",
                        None,
                        f"has {len(row)} cells, the header has {len(names)}",
                    )
                )
                continue
            entries.append(
                RawEntry(str(path), f"row {number}", {n: c.strip() for n, c in zip(names, row)})
            )
    except csv.Error as exc:
        problems.append(Problem(str(path), f"row {reader.line_num}", None, f"bad CSV: {exc}"))
    if problems:
        raise InputError(problems)
    return entries


def entries_from_list(value: Any, file: str, key: str) -> tuple[list[RawEntry], list[Problem]]:
    """The items of a YAML list as raw entries positioned `key[i]`."""
    if value is None:
        return [], []
    if not isinstance(value, list):
        return [], [Problem(file, key, None, f"'{key}' must be a list")]
    return [RawEntry(file, f"{key}[{i}]", item) for i, item in enumerate(value)], []
