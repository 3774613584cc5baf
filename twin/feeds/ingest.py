"""Ingest signal feeds (files or folders, any supported format) into one signal frame.

Main entry point::

    from twin.feeds.ingest import ingest_path
    result = ingest_path("feeds/", network)          # a file or a folder, formats mixed
    result.frame        # pandas DataFrame, one row per (signal, node): SIGNAL_COLUMNS
    result.positions    # list[ShipmentPosition] from DCSA actual events
    result.problems     # list[Problem]: errors (bad rows) and warnings (unknown metric, ...)
    result.quarantine   # list[Quarantined]: every bad row with file, where, field, reason, raw
    result.signals()    # the frame as Signal records (for small inputs)

Formats are told apart by content (twin.feeds.detect): CAP 1.2 XML, DCSA T&T 2.2 JSON (a list,
{"events": [...]}, or one event a line), JSON Lines or a JSON list of signals, CSV.

Frame columns: `ts, effective_at, expected_until` (datetime64[us, UTC]; NaT when absent),
`source, dimension, target, metric, ref, shipment, area, supersedes` (text or None), `value`
(float), `extras` (dict or None). An area signal is fanned out to one row per node inside
the area (`area` keeps the area's text). `ref` is the source's id for the observation (CAP
"sender,identifier,sent", DCSA eventID, the row's `ref`) or, when there is none, `h` + a
64-bit hash of the row's content; (source, ref, target) is unique in the frame and in the
store, so ingesting the same file twice adds nothing. `target` is None only for an area
read without a network or a DCSA customs event that could not be placed.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Collection, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from twin.domain.problems import Problem
from twin.domain.records import Network
from twin.domain.signals import (
    SIGNAL_COLUMNS,
    STANDARD_METRICS,
    Area,
    Quarantined,
    ShipmentPosition,
    Signal,
)
from twin.feeds.batch import Batch, area_key, empty_frame, frame_from_records
from twin.feeds.cap import CapAlert, cap_rows, read_cap
from twin.feeds.csv import read_signal_csv
from twin.feeds.dcsa import DcsaEvent, dcsa_outputs, event_list, read_dcsa
from twin.feeds.detect import FORMATS, detect_format
from twin.feeds.jsonl import read_json_items, read_jsonl
from twin.feeds.limits import DEFAULT_LIMITS, FeedLimits, MiB, deeper_than, text_problem
from twin.feeds.rows import Unreadable, signal_row
from twin.network.areas import NodeLocator
from twin.scoring.known import scored_metrics, unscorable

# A warning listing unknown targets names this many, then counts the rest.
_LIST_AT_MOST = 10
# Files parsed at once (each holds up to a feed file's rows in memory while it is read).
READ_THREADS = 4


@dataclass(frozen=True)
class FileReport:
    """What happened to one file: its format, content hash, rows read, loaded and rejected."""

    path: str
    format: str
    sha256: str
    rows: int = 0
    quarantined: int = 0
    skipped: bool = False  # unchanged since the hash the caller already holds
    refused: str | None = None  # why the whole file was quarantined (nothing of it loads)


@dataclass
class IngestResult:
    """Everything one ingest produced. See the module docstring for the frame's columns."""

    frame: pd.DataFrame
    positions: list[ShipmentPosition] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    quarantine: list[Quarantined] = field(default_factory=list)
    files: list[FileReport] = field(default_factory=list)
    duplicates: int = 0  # rows dropped because (source, ref, target) was already there

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity != "error"]

    def signals(self) -> list[Signal]:
        """The frame as Signal records, one per row (meant for small inputs and tests)."""
        out = []
        for row in self.frame.to_dict("records"):
            data = {
                k: _plain(v) for k, v in row.items() if k not in ("area", "extras", "supersedes")
            }
            data.update(row["extras"] or {})
            if row["area"] is not None:
                data["area_text"] = row["area"]
            if row["supersedes"] is not None:
                data["supersedes"] = row["supersedes"]
            out.append(Signal.model_validate({k: v for k, v in data.items() if v is not None}))
        return out

    def summary(self) -> dict[str, Any]:
        return {
            "files": len(self.files),
            "files_quarantined": sum(1 for f in self.files if f.refused is not None),
            "signals": len(self.frame),
            "positions": len(self.positions),
            "quarantined": len(self.quarantine),
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "duplicates": self.duplicates,
        }


def ingest_path(
    path: str | Path,
    network: Network | None = None,
    *,
    format: str | None = None,
    known: Mapping[str, str] | None = None,
    limits: FeedLimits | None = None,
    metrics: Collection[str] | None = None,
) -> IngestResult:
    """Read every signal in a file or a folder (recursively, hidden files skipped).

    `network` resolves areas to nodes and flags unknown targets (without it, area rows keep
    `target` None). `format` forces one of "cap", "dcsa", "jsonl", "csv" instead of detecting.
    `known` maps a file path to the sha256 it had when last ingested: such unchanged files are
    skipped (FileReport.skipped). `limits` bound each file (twin.feeds.limits). Never raises
    for bad content: every problem is in `result.problems` and every bad row in
    `result.quarantine`; a file that cannot be read as a whole loads nothing and says why in
    its FileReport's `refused` (and in one quarantine entry at `where` "file").
    """
    root = Path(path)
    files: list[Path]
    if root.is_dir():
        files = sorted(
            p
            for p in root.rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
        )
    elif root.exists():
        files = [root]
    else:
        return IngestResult(
            frame=empty_frame(), problems=[Problem(str(root), "", None, "no such file or folder")]
        )
    largest = (limits or DEFAULT_LIMITS).largest
    blobs: list[tuple[str, bytes | None, str | None]] = []
    for file in files:
        try:
            size = file.stat().st_size
            if size > largest:
                reason = f"larger than {_size(largest)} ({_size(size)}), not read"
                blobs.append((str(file), None, reason))
            else:
                blobs.append((str(file), file.read_bytes(), None))
        except OSError as exc:
            blobs.append((str(file), None, f"cannot read: {exc.strerror}"))
    return _ingest(blobs, network, format, known, limits, metrics)


@dataclass(frozen=True)
class FileRead:
    """One feed file read on its own: what it gave, and its content hash and size."""

    result: IngestResult
    sha256: str
    size: int

    @property
    def report(self) -> FileReport:
        return self.result.files[0]

    @property
    def refused(self) -> str | None:
        """Why the whole file was quarantined, or None when its good rows loaded."""
        return self.report.refused


def ingest_file(
    path: str | Path,
    network: Network | None = None,
    *,
    format: str | None = None,
    limits: FeedLimits | None = None,
    name: str | None = None,
    metrics: Collection[str] | None = None,
) -> FileRead:
    """Read one feed file in bounded memory; never raises.

    A file over the largest size limit is not read at all (its hash is taken in chunks); one
    that cannot be opened is refused with the reason. `name` (default: the path) names the
    file in problems and the quarantine.
    """
    limits = limits or DEFAULT_LIMITS
    file = Path(path)
    label = name or str(file)
    try:
        size = file.stat().st_size
        if size > limits.largest:
            digest = hashlib.sha256()
            with file.open("rb") as handle:
                head = handle.read(2_000)
                digest.update(head)
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
            reason = f"larger than {_size(limits.largest)} ({_size(size)}), not read"
            return refused_read(label, reason, head, digest.hexdigest(), size)
        data = file.read_bytes()
    except OSError as exc:
        return refused_read(label, f"cannot read: {exc.strerror or exc}", b"", "", 0)
    result = _ingest([(label, data, None)], network, format, None, limits, metrics)
    return FileRead(result, result.files[0].sha256, len(data))


def refused_read(name: str, reason: str, head: bytes, sha256: str, size: int) -> FileRead:
    """A file set aside unread (too large, cannot be opened, a response cut off at the size
    limit), kept with its reason and its first bytes."""
    read = _refuse(Batch(file=name, format="unread", frame=empty_frame()), reason, head)
    report = FileReport(name, "unread", sha256, refused=reason)
    return FileRead(_finish([read.batch], [], [], None, [report], []), sha256, size)


def ingest_bytes(
    data: bytes,
    name: str,
    network: Network | None = None,
    *,
    format: str | None = None,
    limits: FeedLimits | None = None,
    metrics: Collection[str] | None = None,
) -> IngestResult:
    """Read signals from the content of one file (e.g. an HTTP feed's body) named `name`.
    Never raises for bad content (see `ingest_path`)."""
    return _ingest([(name, data, None)], network, format, None, limits, metrics)


def ingest_signals(
    signals: Iterable[Signal], network: Network | None = None, name: str = "signals"
) -> IngestResult:
    """Turn Signal records (e.g. a scenario's `signals:`) into the same frame ingestion makes."""
    batch = Batch(file=name, format="signals", frame=empty_frame())
    rows = []
    for signal in signals:
        row = signal_row(signal)
        if signal.area is not None:
            key = area_key(signal.area)
            batch.areas[key] = signal.area
            row["area"] = key
        rows.append(row)
    batch.frame = frame_from_records(rows)
    batch.rows = len(rows)
    return _finish([batch], [], [], network, [])


def _ingest(
    blobs: list[tuple[str, bytes | None, str | None]],
    network: Network | None,
    forced: str | None,
    known: Mapping[str, str] | None,
    limits: FeedLimits | None = None,
    metrics: Collection[str] | None = None,
) -> IngestResult:
    limits = limits or DEFAULT_LIMITS
    batches: list[Batch] = []
    alerts: list[CapAlert] = []
    events: list[DcsaEvent] = []
    reports: list[FileReport] = []
    extra_problems: list[Problem] = []
    if forced is not None and forced not in FORMATS:
        extra_problems.append(
            Problem("", "", "format", f"unknown format {forced!r}; use one of {', '.join(FORMATS)}")
        )
        forced = None
    digests = [hashlib.sha256(data).hexdigest() if data is not None else "" for _, data, _ in blobs]
    todo = {
        i: (name, data)
        for i, ((name, data, _), digest) in enumerate(zip(blobs, digests, strict=True))
        if data is not None and (known is None or known.get(name) != digest)
    }
    reads = dict(zip(todo, _read_files(list(todo.values()), forced, limits), strict=True))
    for i, ((name, data, failure), digest) in enumerate(zip(blobs, digests, strict=True)):
        if data is None:
            reason = failure or "cannot read"
            refused = _refuse(Batch(file=name, format="unread", frame=empty_frame()), reason, b"")
            batches.append(refused.batch)
            reports.append(FileReport(name, "unread", "", refused=reason))
            continue
        if known is not None and known.get(name) == digest:
            reports.append(FileReport(name, "skipped", digest, skipped=True))
            continue
        read = reads[i]
        batch = read.batch
        if read.refused is None:
            alerts += read.alerts
            events += read.events
        batches.append(batch)
        reports.append(
            FileReport(
                name,
                batch.format,
                digest,
                batch.rows,
                len(batch.quarantine),
                refused=read.refused,
            )
        )
    scored = scored_metrics() if metrics is None else metrics
    return _finish(batches, alerts, events, network, reports, extra_problems, limits, scored)


def _read_files(
    blobs: list[tuple[str, bytes]], forced: str | None, limits: FeedLimits
) -> list[_FileRead]:
    """Each file read on its own (`_read_file`), in order, several at once when there are cores
    for it: the parsers (pyarrow, numpy, pandas) spend most of their time outside the GIL."""
    workers = min(len(blobs), os.cpu_count() or 1, READ_THREADS)
    if workers <= 1:
        return [_read_file(name, data, forced, limits) for name, data in blobs]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="twin-ingest") as pool:
        return list(pool.map(lambda blob: _read_file(blob[0], blob[1], forced, limits), blobs))


@dataclass
class _FileRead:
    """One file's batch and, for CAP and DCSA, the records applied across the whole ingest."""

    batch: Batch
    alerts: list[CapAlert] = field(default_factory=list)
    events: list[DcsaEvent] = field(default_factory=list)
    refused: str | None = None  # why the file as a whole is set aside


def _read_file(name: str, data: bytes, forced: str | None, limits: FeedLimits) -> _FileRead:
    """Read one file; never raises. A file that cannot be read as a whole (too large, not its
    format, nested too deep, every row bad, too many bad rows, a parser failure) is refused."""
    if len(data) > limits.largest:
        reason = f"larger than {_size(limits.largest)} ({_size(len(data))}), not read"
        return _refuse(Batch(file=name, format="unread", frame=empty_frame()), reason, data)
    try:
        fmt = _forced_format(forced, data) if forced else detect_format(data)
        batch = Batch(file=name, format=fmt, frame=empty_frame())
        if len(data) > limits.max_bytes(fmt):
            reason = f"larger than {_size(limits.max_bytes(fmt))} for {fmt} ({_size(len(data))})"
            return _refuse(batch, reason, data)
        if fmt in ("csv", "jsonl", "dcsa-lines"):
            lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
            if lines > limits.rows:
                return _refuse(batch, f"more than {limits.rows} lines ({lines})", data)
        read = _parse(name, data, fmt, batch, limits)
    except Exception as exc:  # noqa: BLE001 - whatever a parser chokes on, the feed moves on
        batch = Batch(file=name, format=forced or "unknown", frame=empty_frame())
        message = str(exc).splitlines()[0][:200] if str(exc) else ""
        return _refuse(batch, f"could not be read: {type(exc).__name__}: {message}", data)
    batch = read.batch
    good = len(batch.frame) + len(read.alerts) + len(read.events)
    errors = [p for p in batch.problems if p.severity == "error"]
    if batch.rows > limits.rows:
        return _refuse(batch, f"more than {limits.rows} rows ({batch.rows})", data)
    if len(batch.quarantine) > limits.quarantined_rows:
        first = batch.quarantine[0]
        where = f"{first.where}: " if first.where else ""
        reason = (
            f"more than {limits.quarantined_rows} bad rows; the first: {where}{first.reason[:200]}"
        )
        return _refuse(batch, reason, data, keep_rows=False)
    if good == 0 and errors:
        first_error = errors[0]
        where = f"{first_error.where}: " if first_error.where else ""
        field_name = f"{first_error.field}: " if first_error.field else ""
        if batch.rows and any(q.where not in ("", "file") for q in batch.quarantine):
            reason = f"no row could be read ({batch.rows} bad); the first: "
        else:
            reason = ""
        return _refuse(batch, f"{reason}{where}{field_name}{first_error.message}"[:1000], data)
    if batch.rows == 0:
        batch.problems.append(Problem(name, "", None, "holds no rows", "warning"))
    return read


def _parse(name: str, data: bytes, fmt: str, batch: Batch, limits: FeedLimits) -> _FileRead:
    if fmt == "cap":
        cap = read_cap(data, name, max_depth=limits.depth)
        batch.problems, batch.quarantine, batch.rows = cap.problems, cap.quarantine, cap.rows
        return _FileRead(batch, alerts=cap.alerts)
    if fmt in ("dcsa", "dcsa-lines"):
        events: list[DcsaEvent] = []
        return _FileRead(_read_dcsa(data, name, fmt, events, limits.depth), events=events)
    if fmt in ("jsonl", "json", "csv"):
        text = _decode(data, name, batch)
        if text is not None:
            if fmt == "csv":
                batch = read_signal_csv(text, name, max_bad=limits.quarantined_rows)
            elif fmt == "jsonl":
                batch = read_jsonl(
                    text, name, max_depth=limits.depth, max_bad=limits.quarantined_rows
                )
            else:
                batch = _read_json_list(data, name, limits.depth)
        return _FileRead(batch)
    if fmt != "empty":
        reason = {
            "xml": "XML but not a CAP 1.2 alert",
            "binary": "binary data, not a feed",
        }.get(fmt, f"unsupported format {fmt}")
        _reject_file(batch, reason, data)
    return _FileRead(batch)


def _refuse(batch: Batch, reason: str, data: bytes, *, keep_rows: bool = True) -> _FileRead:
    """Set the whole file aside: nothing of it loads; its quarantine says why (and, when there
    are few, keeps its bad rows too)."""
    kept = batch.quarantine if keep_rows else []
    problems = [p for p in batch.problems if p.severity == "error"] if keep_rows else []
    out = Batch(file=batch.file, format=batch.format, frame=empty_frame(), rows=batch.rows)
    out.problems = [Problem(batch.file, "", None, f"file quarantined: {reason}")]
    out.problems += [p for p in problems if p.message != reason][:_LIST_AT_MOST]
    out.quarantine = [
        Quarantined(
            file=batch.file,
            where="file",
            field=None,
            reason=reason,
            raw=data[:2_000].decode("utf-8", errors="replace"),
        ),
        *[q for q in kept if q.where not in ("", "file")],
    ]
    return _FileRead(out, refused=reason)


def _size(n: int) -> str:
    return f"{n / MiB:.1f} MiB" if n >= MiB else f"{n} bytes"


def _finish(
    batches: list[Batch],
    alerts: list[CapAlert],
    events: list[DcsaEvent],
    network: Network | None,
    reports: list[FileReport],
    extra_problems: list[Problem] | None = None,
    limits: FeedLimits | None = None,
    metrics: Collection[str] | None = None,
) -> IngestResult:
    """`metrics`: the metrics scored; rows of others, or on targets not in `network`, go to
    quarantine with the reason (None: kept, as for a scenario's own signals)."""
    limits = limits or DEFAULT_LIMITS
    locator = NodeLocator(network) if network is not None else None
    problems = list(extra_problems or [])
    quarantine: list[Quarantined] = []
    positions: list[ShipmentPosition] = []
    read = [r.path for r in reports if not r.skipped]
    # Rows derived from CAP alerts and DCSA events are named by their file when there is one.
    single = read[0] if len(read) == 1 else None
    if alerts:
        rows, found = cap_rows(alerts, locator)
        problems += found
        batches.append(_derived(single or "CAP alerts", "cap", rows))
    if events:
        node_ids = {n.id for n in network.nodes} if network is not None else None
        rows, positions, found = dcsa_outputs(events, node_ids)
        problems += found
        positions, bad = _storable_positions(positions, single or "DCSA events", limits)
        quarantine += bad
        problems += [Problem(q.file, q.where, q.field, q.reason) for q in bad]
        batches.append(_derived(single or "DCSA events", "dcsa", rows))

    frames = []
    for batch in batches:
        problems += batch.problems
        quarantine += batch.quarantine
        if batch.frame.empty:
            continue
        frame, bad = _storable_rows(batch.frame, batch.file, limits)
        quarantine += bad
        problems += [Problem(q.file, q.where, q.field, q.reason) for q in bad]
        if frame.empty:
            continue
        frame = _with_refs(frame)
        frame, found = _fan_out(frame, batch, locator)
        problems += found
        if metrics is not None:
            frame, found, kept_aside = _set_aside_unscorable(frame, batch.file, network, metrics)
            problems += found
            quarantine += kept_aside
        elif network is not None:
            problems += _unknown_targets(frame, network, batch.file)
        frames.append(frame)
    frame = pd.concat(frames, ignore_index=True) if frames else empty_frame()
    if metrics is None:
        problems += _unknown_metrics(frame)
    dupes = frame.duplicated(subset=["source", "ref", "target"]).to_numpy()
    if dupes.any():
        frame = frame[~dupes].reset_index(drop=True)
    return IngestResult(
        frame=frame,
        positions=positions,
        problems=problems,
        quarantine=quarantine,
        files=reports,
        duplicates=int(dupes.sum()),
    )


_ROW_TEXT = ("source", "dimension", "target", "metric", "ref", "shipment", "supersedes")


def _storable_rows(
    frame: pd.DataFrame, file: str, limits: FeedLimits
) -> tuple[pd.DataFrame, list[Quarantined]]:
    """Split off rows holding text the store refuses (NUL) or over the limits (text length,
    nesting): each is quarantined alone, naming its field; the file's other rows load."""
    bad = np.zeros(len(frame), dtype=bool)
    why: dict[int, tuple[str, str]] = {}
    for name in _ROW_TEXT:
        values = frame[name]
        over = _over_limits(values, limits.text_chars)
        for position in np.flatnonzero(over):
            if not bad[position]:
                reason = text_problem(values.iat[position], limits.text_chars, limits.depth)
                why[int(position)] = (name, reason or "cannot be stored")
            bad[position] = True
    extras = frame["extras"].to_numpy(dtype=object)
    for position in np.flatnonzero(pd.notna(extras)):
        if bad[position]:
            continue
        reason = text_problem(extras[position], limits.text_chars, limits.depth)
        if reason is not None:
            bad[position] = True
            why[int(position)] = ("extras", reason)
    if not bad.any():
        return frame, []
    out = []
    for row_position, (name, reason) in sorted(why.items()):
        row = frame.iloc[row_position]
        where = ""
        for label in ("ref", "target"):  # the row's own id, or at least where it points
            value = row[label]
            if isinstance(value, str) and "\x00" not in value and len(value) <= 60:
                where = f"{label} {value}"
                break
        out.append(
            Quarantined(
                file=file, where=where, field=name, reason=reason, raw=_row_text(row.to_dict())
            )
        )
    return frame[~bad].reset_index(drop=True), out


def _over_limits(values: pd.Series, max_chars: int) -> np.ndarray:
    """Which values are text holding NUL or longer than `max_chars` (vectorised in Arrow)."""
    try:
        text = pa.array(values.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # not all text: pandas skips what is not
        over = (values.str.len() > max_chars).to_numpy(dtype=bool)
        return over | values.str.contains("\x00", regex=False, na=False).to_numpy(dtype=bool)
    if text.null_count == len(text):
        return np.zeros(len(text), dtype=bool)
    over = pc.or_(pc.greater(pc.utf8_length(text), max_chars), pc.match_substring(text, "\x00"))
    return np.asarray(pc.fill_null(over, False).to_numpy(zero_copy_only=False), dtype=bool)


def _storable_positions(
    positions: list[ShipmentPosition], file: str, limits: FeedLimits
) -> tuple[list[ShipmentPosition], list[Quarantined]]:
    kept, bad = [], []
    for position in positions:
        data = position.model_dump(mode="json")
        reason = text_problem(data, limits.text_chars, limits.depth)
        if reason is None:
            kept.append(position)
            continue
        bad.append(
            Quarantined(
                file=file,
                where=f"event {position.event_id[:60]!r}",
                field=None,
                reason=reason,
                raw=_row_text(data),
            )
        )
    return kept, bad


def _row_text(row: Mapping[str, Any]) -> str:
    """A row as JSON for the quarantine, cut short (the store keeps it with NULs escaped)."""
    try:
        plain = {k: _plain(v) for k, v in row.items()}
        text = orjson.dumps(plain, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
    except (TypeError, orjson.JSONEncodeError):
        text = repr(row)
    return text[:2_000]


def _derived(name: str, fmt: str, rows: list[dict[str, Any]]) -> Batch:
    batch = Batch(file=name, format=fmt, frame=empty_frame())
    for row in rows:
        area = row.pop("_area", None)
        if area is not None:
            key = area_key(area)
            batch.areas[key] = area
            row["area"] = key
    batch.frame = frame_from_records(rows)
    return batch


def _with_refs(frame: pd.DataFrame) -> pd.DataFrame:
    """Fill missing refs with a content hash so re-ingesting identical rows adds nothing."""
    missing = frame["ref"].isna().to_numpy()
    if not missing.any():
        return frame
    part = frame.loc[missing]

    def text(name: str) -> np.ndarray:
        values = part[name].to_numpy(dtype=object)
        return np.where(pd.isna(values), "", values)

    def stamp(name: str) -> np.ndarray:
        # UTC microseconds as integers; NaT becomes the smallest int64, a fine sentinel
        return part[name].to_numpy(dtype="datetime64[us]").view("int64")

    content = pd.DataFrame(
        {
            **{
                c: pd.Series(text(c), dtype=object)
                for c in ("source", "dimension", "target", "area", "metric")
            },
            "value": part["value"].to_numpy(dtype=float),
            **{c: stamp(c) for c in ("ts", "effective_at", "expected_until")},
        }
    )
    hashes = pd.util.hash_pandas_object(content, index=False).to_numpy(dtype=np.uint64)
    refs = frame["ref"].to_numpy(dtype=object).copy()
    refs[missing] = [f"h{h:016x}" for h in hashes.tolist()]
    return frame.assign(ref=pd.Series(refs, dtype=object, index=frame.index))


def _fan_out(
    frame: pd.DataFrame, batch: Batch, locator: NodeLocator | None
) -> tuple[pd.DataFrame, list[Problem]]:
    """One row per node inside each area signal's area."""
    has = (frame["area"].notna() & frame["target"].isna()).to_numpy()
    if locator is None or not has.any():
        return frame, []
    keys = frame["area"][has]
    nodes = {k: locator.within(batch.areas[k]) for k in keys.unique()}
    problems = [
        Problem(
            batch.file,
            "",
            "area",
            f"area {k[:80]} holds no node of the network; its signals are not scored",
            "warning",
        )
        for k, found in nodes.items()
        if not found
    ]
    spread = frame[has].copy()
    spread["target"] = keys.map(nodes)
    spread = spread.explode("target")
    spread = spread[spread["target"].notna()]
    out = pd.concat([frame[~has], spread]).sort_index(kind="stable").reset_index(drop=True)
    return out, problems


def _set_aside_unscorable(
    frame: pd.DataFrame, file: str, network: Network | None, metrics: Collection[str]
) -> tuple[pd.DataFrame, list[Problem], list[Quarantined]]:
    """Rows no scorer would use (twin.scoring.known.unscorable), quarantined with the reason."""
    reasons = unscorable(frame, network, metrics)
    bad = reasons.notna().to_numpy()
    if not bad.any():
        return frame, [], []
    shown = ["ts", "source", "dimension", "target", "metric", "value", "ref"]
    quarantined = [
        Quarantined(
            file=file,
            where=f"ref {row['ref']}",
            field="metric" if reason.startswith("metric") else "target",
            reason=reason,
            raw=orjson.dumps({k: _plain(row[k]) for k in shown}, default=str).decode(),
        )
        for row, reason in zip(frame[bad].to_dict("records"), reasons[bad], strict=True)
    ]
    problems = [
        Problem(file, "", field, f"{count} row(s) quarantined: {reason}", "warning")
        for (field, reason), count in pd.Series([(q.field, q.reason) for q in quarantined])
        .value_counts(sort=False)
        .items()
    ]
    return frame[~bad].reset_index(drop=True), problems, quarantined


def _unknown_targets(frame: pd.DataFrame, network: Network, file: str) -> list[Problem]:
    targets = set(frame["target"].dropna().unique())
    unknown = sorted(targets - set(network.node_by_id) - set(network.lane_by_id))
    if not unknown:
        return []
    shown = ", ".join(unknown[:_LIST_AT_MOST])
    more = f" and {len(unknown) - _LIST_AT_MOST} more" if len(unknown) > _LIST_AT_MOST else ""
    return [
        Problem(
            file,
            "",
            "target",
            f"not a node or lane of network {network.name}: {shown}{more}; kept, not scored",
            "warning",
        )
    ]


def _unknown_metrics(frame: pd.DataFrame) -> list[Problem]:
    if frame.empty:
        return []
    pairs = frame[["dimension", "metric"]].drop_duplicates().itertuples(index=False)
    return [
        Problem("", "", "metric", f"unknown metric {d}/{m}: stored, not scored", "warning")
        for d, m in pairs
        if m not in STANDARD_METRICS.get(d, ())
    ]


def _read_dcsa(data: bytes, name: str, fmt: str, events: list[DcsaEvent], max_depth: int) -> Batch:
    batch = Batch(file=name, format="dcsa", frame=empty_frame())
    if fmt == "dcsa":
        try:
            items = event_list(orjson.loads(data)) or []
        except orjson.JSONDecodeError as exc:
            _reject_file(batch, f"not valid JSON: {exc}", data)
            return batch
        items = [_shallow(item, max_depth) for item in items]
        read = read_dcsa(items, name)
    else:
        items, wheres = [], []
        for number, line in enumerate(data.split(b"\n"), start=1):
            if not line.strip():
                continue
            try:
                items.append(_shallow(orjson.loads(line), max_depth))
            except orjson.JSONDecodeError as exc:
                items.append(Unreadable(f"not valid JSON: {exc}"))
            wheres.append(f"line {number}")
        read = read_dcsa(items, name, wheres)
    events += read.events
    batch.problems, batch.quarantine, batch.rows = read.problems, read.quarantine, read.rows
    return batch


def _shallow(item: Any, max_depth: int) -> Any:
    """The item, or an Unreadable saying it nests too deep (checked before anything recurses)."""
    if deeper_than(item, max_depth):
        return Unreadable(f"nested deeper than {max_depth} levels")
    return item


def _read_json_list(data: bytes, name: str, max_depth: int) -> Batch:
    batch = Batch(file=name, format="json", frame=empty_frame())
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        _reject_file(batch, f"not valid JSON: {exc}", data)
        return batch
    if not isinstance(doc, list):
        _reject_file(batch, "a JSON document of signals must be a list of objects", data)
        return batch
    return read_json_items([_shallow(item, max_depth) for item in doc], name)


def _forced_format(forced: str, data: bytes) -> str:
    if forced == "dcsa":
        detected = detect_format(data)
        return detected if detected in ("dcsa", "dcsa-lines") else "dcsa"
    if forced == "jsonl" and detect_format(data) == "json":
        return "json"
    return forced


def _decode(data: bytes, name: str, batch: Batch) -> str | None:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        _reject_file(batch, f"not UTF-8 text (byte {exc.start})", data)
        return None


def _reject_file(batch: Batch, reason: str, data: bytes) -> None:
    batch.problems.append(Problem(batch.file, "", None, reason))
    batch.quarantine.append(
        Quarantined(
            file=batch.file,
            where="",
            field=None,
            reason=reason,
            raw=data[:20_000].decode("utf-8", errors="replace"),
        )
    )


def _plain(value: Any) -> Any:
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, float) and np.isnan(value):
        return None
    return value


__all__ = [
    "SIGNAL_COLUMNS",
    "Area",
    "FileRead",
    "FileReport",
    "IngestResult",
    "ingest_bytes",
    "ingest_file",
    "ingest_path",
    "ingest_signals",
    "refused_read",
]
