"""The recording CSV: what ``isokin record`` writes and ``isokin analyze`` reads.

Layout (UTF-8 text)::

    # isokin recording: 1
    # joint: knee
    # pattern: flexion/extension
    # side: left
    # sample_rate_hz: 1000
    # body_mass_kg: 75
    # ...more "# key: value" lines...
    time_s,torque_nm,position_deg,velocity_dps,status,sequence
    0.000000,-12.3456,90.0000,0.0000,0,0
    ...

- Metadata lines come first, each ``# key: value``. Known keys are listed in
  :data:`KNOWN_METADATA`; any other key is kept as text. Comment lines after the
  header (``# gap: ...``) record acquisition events and are kept in ``notes``.
- The header's first four columns are always ``time_s,torque_nm,position_deg,velocity_dps``;
  optional extra columns follow (``status``: the device's per-sample status bits,
  ``sequence``: the device's sample index, so a gap shows as a jump).
- Sign conventions are those of DOMAIN.md section 2: ``position_deg`` increases
  toward the pattern's first-named direction, ``velocity_dps`` is d(position)/dt,
  ``torque_nm`` is positive when it acts toward increasing position.

Writing is incremental (:class:`RecordingWriter`), so a crash loses only what was
not yet flushed; reading (:func:`read_recording`) parses the numeric block with
numpy's C reader straight from the file's bytes.
"""

from __future__ import annotations

import io
import math
import os
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np

from daq.errors import RecordingFormatError

__all__ = [
    "BASE_COLUMNS",
    "FORMAT_VERSION",
    "KNOWN_METADATA",
    "Recording",
    "RecordingWriter",
    "decode_text",
    "header_text",
    "note_text",
    "read_recording",
    "rows_text",
    "write_recording",
]

FORMAT_VERSION = "1"
BASE_COLUMNS = ("time_s", "torque_nm", "position_deg", "velocity_dps")

#: Metadata keys with a meaning (and a type) every reader agrees on.
KNOWN_METADATA: Mapping[str, str] = {
    "joint": "knee, shoulder, elbow, wrist, hip or ankle",
    "pattern": "movement pattern, first-named direction is + (e.g. flexion/extension)",
    "side": "left or right",
    "involved_side": "left or right, the side under test for a deficit, if any",
    "mode": "con/con, con/ecc, ecc/con, ecc/ecc or isometric",
    "group": "con/ecc, ecc/con and one-group isometric sets: the acting muscle group's direction",
    "isometric_angle_deg": "isometric sets: the angle (deg) the lever holds",
    "torque_sign": "'unsigned' when the source does not sign the torque (the muscle group is then unknown)",
    "velocity_dps": "nominal set velocity in deg/s (one value, or 'plus/minus' per direction)",
    "repetitions": "repetitions asked for",
    "sample_rate_hz": "nominal sample rate in Hz",
    "body_mass_kg": "subject body mass in kg",
    "gravity_torque_nm": "limb+lever gravitational torque with the segment horizontal, N.m",
    "horizontal_angle_deg": "position (deg) at which the segment is horizontal",
    "subject": "pseudonymous subject code",
    "device": "device URL or vendor/model",
    "calibration": "calibration profile used to convert counts to units",
    "started_at": "ISO 8601 host time of the first sample",
    "source_format": "where the data came from (isokin, humac-csv, contrex-ctm, ...)",
    "markers": "device repetition boundaries as sample indices, comma-separated (see Recording.markers)",
}

_FLOAT_KEYS = ("sample_rate_hz", "body_mass_kg", "gravity_torque_nm", "horizontal_angle_deg")


@dataclass(frozen=True, eq=False)
class Recording:
    """Samples in SI-ish units with their metadata.

    Attributes
    ----------
    time_s, torque_nm, position_deg, velocity_dps
        1-D float64 arrays of equal length (s, N.m, deg, deg/s).
    metadata
        ``key -> text`` from the file (see :data:`KNOWN_METADATA`).
    extra
        Further per-sample columns by name (e.g. ``status``, ``sequence``).
    markers
        Sample indices where the device itself marked a repetition boundary
        (vendor exports), or ``None`` when the source has none.
    notes
        Comment lines found after the header (acquisition events such as gaps).
    source
        The path or name the recording was read from.
    """

    time_s: np.ndarray
    torque_nm: np.ndarray
    position_deg: np.ndarray
    velocity_dps: np.ndarray
    metadata: dict[str, str] = field(default_factory=dict)
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    markers: tuple[int, ...] | None = None
    notes: tuple[str, ...] = ()
    source: str = ""

    def __post_init__(self) -> None:
        n = len(self.time_s)
        for name in BASE_COLUMNS[1:]:
            if len(getattr(self, name)) != n:
                raise ValueError(f"column {name} has {len(getattr(self, name))} samples, time_s has {n}")
        for name, col in self.extra.items():
            if len(col) != n:
                raise ValueError(f"column {name} has {len(col)} samples, time_s has {n}")

    def __len__(self) -> int:
        return len(self.time_s)

    def meta_float(self, key: str) -> float | None:
        """A metadata value as a float, or ``None`` when absent or empty."""
        text = self.metadata.get(key, "").strip()
        if not text:
            return None
        try:
            return float(text)
        except ValueError as err:
            raise RecordingFormatError(f"{self.source or 'recording'}: metadata {key}={text!r} is not a number") from err


def _fmt_float(v: float) -> str:
    if math.isnan(v):
        return "nan"
    return f"{v:.6f}".rstrip("0").rstrip(".") if v != 0 else "0"


def _column_text(values: Iterable[float | int] | np.ndarray) -> list[str]:
    array = np.asarray(values)
    if array.dtype.kind in "iub":
        return list(map(str, array.astype(np.int64).tolist()))
    return [_fmt_float(v) for v in array.astype(np.float64).tolist()]


def header_text(metadata: Mapping[str, object], columns: tuple[str, ...]) -> str:
    """The first lines of a recording CSV: the format line, ``# key: value`` metadata, the column header.

    ``None`` values are left out; a value's line breaks become spaces.

    Raises
    ------
    ValueError
        A key holds ``:`` or a line break.
    """
    head = [f"# isokin recording: {FORMAT_VERSION}"]
    for key, value in metadata.items():
        if value is None:
            continue
        if ":" in key or "\n" in key or "\r" in key:
            raise ValueError(f"bad metadata key {key!r}")
        head.append(f"# {key}: {' '.join(str(value).split())}")
    head.append(",".join(columns))
    return "\n".join(head) + "\n"


def rows_text(columns: Iterable[Iterable[float | int] | np.ndarray]) -> str:
    """Data rows of a recording CSV, one per sample, from equal-length columns in header order.

    Integer columns (status, sequence, device time) are written as integers; floats with
    six decimals at most and no trailing zeros (``0.5``, ``-12.345678``, ``0``, ``nan``).

    Raises
    ------
    ValueError
        The columns differ in length.
    """
    texts = [_column_text(c) for c in columns]
    if len({len(t) for t in texts}) > 1:
        raise ValueError(f"columns differ in length: {[len(t) for t in texts]}")
    return "".join(",".join(row) + "\n" for row in zip(*texts))


def note_text(text: str) -> str:
    """A ``# ...`` note line (an acquisition event, a clock fit), with its line break."""
    return "# " + " ".join(text.split()) + "\n"


class RecordingWriter:
    """Write a recording CSV incrementally.

    Rows are buffered in memory and written by :meth:`flush` (call it at least once
    a second; the recorder does) so a crash loses at most what was not flushed.
    ``flush`` also calls ``os.fsync`` when ``fsync=True``.

    Example
    -------
    >>> with RecordingWriter(path, {"joint": "knee"}, extra_columns=("status",)) as w:  # doctest: +SKIP
    ...     w.write_rows(time_s, torque_nm, position_deg, velocity_dps, status=status)
    ...     w.note("gap: 12 samples lost after sequence 4711")
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        metadata: Mapping[str, object],
        *,
        extra_columns: tuple[str, ...] = (),
        fsync: bool = True,
    ) -> None:
        self.path = Path(path)
        self.extra_columns = tuple(extra_columns)
        self._fsync = fsync
        self._pending: list[str] = []
        self.rows_written = 0
        head = header_text(metadata, BASE_COLUMNS + self.extra_columns)
        try:
            self._file: IO[str] = open(self.path, "w", encoding="utf-8", newline="\n")
        except OSError as err:
            raise RecordingFormatError(f"cannot write {self.path}: {err.strerror}") from err
        self._file.write(head)
        self.flush()

    def write_rows(
        self,
        time_s: Iterable[float],
        torque_nm: Iterable[float],
        position_deg: Iterable[float],
        velocity_dps: Iterable[float],
        **extra: Iterable[int | float],
    ) -> None:
        """Queue rows (columns as equal-length sequences) for the next flush."""
        missing = set(self.extra_columns) - set(extra)
        if missing or set(extra) - set(self.extra_columns):
            raise ValueError(f"extra columns must be exactly {self.extra_columns}")
        columns = [time_s, torque_nm, position_deg, velocity_dps] + [extra[c] for c in self.extra_columns]
        text = rows_text(columns)
        self._pending.append(text)
        self.rows_written += text.count("\n")

    def note(self, text: str) -> None:
        """Queue a ``# text`` comment line (acquisition events: gaps, reconnects, markers)."""
        self._pending.append(note_text(text))

    def flush(self) -> None:
        """Write queued rows and push them to the disk."""
        if self._pending:
            self._file.write("".join(self._pending))
            self._pending.clear()
        self._file.flush()
        if self._fsync:
            os.fsync(self._file.fileno())

    def close(self) -> None:
        if not self._file.closed:
            self.flush()
            self._file.close()

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_recording(path: str | os.PathLike[str], recording: Recording) -> None:
    """Write a whole :class:`Recording` (e.g. one converted from a vendor export).

    Device repetition markers are kept as the ``markers`` metadata line.
    """
    extra = tuple(recording.extra)
    metadata = dict(recording.metadata)
    if recording.markers is not None:
        metadata["markers"] = ",".join(str(int(m)) for m in recording.markers)
    with RecordingWriter(path, metadata, extra_columns=extra) as w:
        for note in recording.notes:
            w.note(note)
        w.write_rows(
            recording.time_s.tolist(),
            recording.torque_nm.tolist(),
            recording.position_deg.tolist(),
            recording.velocity_dps.tolist(),
            **{k: recording.extra[k].tolist() for k in extra},
        )


#: The note added when the last data line was cut short by an interrupted write and dropped.
CUT_TAIL_NOTE = "last line cut short (the recording was interrupted); dropped"

#: Bytes of data rows handed to numpy's C reader at a time. Each chunk's rows are written straight
#: into the columns, so a read holds the file's bytes, the columns and one chunk, never a second table.
_CHUNK_BYTES = 1 << 22

_UTF8_BOM = b"\xef\xbb\xbf"


def decode_text(raw: bytes) -> str:
    """UTF-8 text (a BOM is dropped), falling back to Latin-1, which accepts any byte.

    The rule every reader of text files here follows (the recording CSV and the vendor importers).
    """
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _row_problem(line: bytes, columns: int) -> str | None:
    """What is wrong with a data row (a field count, a non-number), or ``None`` when it parses."""
    content = line.rstrip(b"\r").split(b"#", 1)[0]
    if b"\r" in content:  # numpy ends a line there
        return "a carriage return inside the row"
    fields = content.split(b",")
    if len(fields) != columns:
        return f"{len(fields)} fields, the header has {columns}"
    for text in fields:
        try:
            float(text)
        except ValueError:
            return f"{text.strip().decode('latin-1')!r} is not a number"
    return None


def _data_end(data: bytes, body_start: int, columns: int, *, written_by_isokin: bool) -> tuple[int, bool]:
    """Where the data rows end: before the last line when a crash cut it short, and whether it was cut.

    The writer ends every line with a newline, so in a file it wrote a last line without one
    was cut mid-write; in any file a last data line with too few fields (or, lacking its newline,
    one that does not parse) was too. Only the last line is forgiven, and never the only data line
    (a file whose every row is short has the wrong header, and says so). Looks at the tail only,
    so it costs nothing on a long file.
    """
    size = len(data)
    terminated = data.endswith(b"\n")
    stop = size - 1 if terminated else size
    start = data.rfind(b"\n", body_start, stop) + 1
    if start == 0:
        start = body_start
    if start >= stop or start < body_start:
        return size, False
    line = data[start:stop].rstrip(b"\r")
    if not line.strip() or line.startswith(b"#"):
        return size, False
    if terminated:
        cut = len(line.split(b",")) < columns
    else:
        cut = written_by_isokin or _row_problem(line, columns) is not None
    # Keep the line unless another data row stands before it.
    if not cut or not _has_data_row(data, body_start, start):
        return size, False
    return start, True


def _has_data_row(data: bytes, begin: int, end: int) -> bool:
    """Whether ``data[begin:end]`` holds a data row, looking back from ``end`` (usually one line)."""
    while end > begin:
        start = max(data.rfind(b"\n", begin, end - 1) + 1, begin)
        line = data[start:end].strip()
        if line and not line.startswith(b"#"):
            return True
        end = start
    return False


def _note_lines(data: bytes, begin: int) -> list[bytes]:
    """The ``#`` lines after ``data[begin]`` (the header's line break), without their ``#``.

    A search for the single byte ``#`` (far quicker than for ``\\n#``): a file without notes costs one
    ``memchr`` pass; a ``#`` that does not start its line (a comment after a row) is not a note.
    """
    notes = []
    at = data.find(b"#", begin)
    while at >= 0:
        end = data.find(b"\n", at)
        end = len(data) if end < 0 else end
        if data[at - 1] == 0x0A:
            notes.append(data[at + 1 : end])
        at = data.find(b"#", end)
    return notes


def _bad_row(name: str, chunk: bytes, first_line_no: int, columns: int, detail: object) -> RecordingFormatError:
    """The error naming the first malformed row of ``chunk`` (the error path only: slow is fine)."""
    for k, line in enumerate(chunk.split(b"\n")):
        if line.split(b"#", 1)[0].rstrip(b"\r"):  # numpy skips only lines empty up to a comment
            problem = _row_problem(line, columns)
            if problem:
                return RecordingFormatError(f"{name}: bad sample row at line {first_line_no + k}: {problem}")
    return RecordingFormatError(f"{name}: bad sample row after line {first_line_no - 1}: {detail}")


def _parse_rows(data: bytes, begin: int, end: int, columns: int, *, name: str, first_line_no: int) -> list[np.ndarray]:
    """The data rows of ``data[begin:end]`` as one contiguous float64 array per column.

    numpy's C reader parses :data:`_CHUNK_BYTES` of whole lines at a time (``#`` comments and blank
    lines skipped), and each chunk's values are copied into their place in columns sized for the most
    rows the bytes can hold, so no second table is built.
    """
    capacity = min(data.count(b"\n", begin, end) + 1, (end - begin) // (2 * columns) + 1)
    table = [np.empty(capacity, dtype=np.float64) for _ in range(columns)]
    rows = 0
    at = begin
    while at < end:
        cut = data.find(b"\n", min(at + _CHUNK_BYTES, end), end)
        stop = end if cut < 0 else cut + 1
        chunk = data[at:stop]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # numpy warns on a chunk of comments only
                part = np.loadtxt(io.BytesIO(chunk), delimiter=",", comments="#", dtype=np.float64, ndmin=2)
        except ValueError as err:
            raise _bad_row(name, chunk, first_line_no + data.count(b"\n", begin, at), columns, err) from err
        if part.shape[0]:
            if part.shape[1] != columns or rows + part.shape[0] > capacity:
                detail = f"rows have {part.shape[1]} columns, header has {columns}"
                raise _bad_row(name, chunk, first_line_no + data.count(b"\n", begin, at), columns, detail)
            for column, values in zip(table, part.T):
                column[rows : rows + len(values)] = values
            rows += part.shape[0]
        at = stop
    return [column[:rows] for column in table]


def _read_bytes(file: str | os.PathLike[str] | bytes | IO[bytes] | IO[str], name: str) -> bytes:
    try:
        if isinstance(file, bytes):
            return file
        if isinstance(file, (str, os.PathLike)):
            with open(file, "rb") as f:
                return f.read()
        raw = file.read()
        return raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)
    except (OSError, UnicodeEncodeError) as err:
        raise RecordingFormatError(f"{name}: cannot read: {getattr(err, 'strerror', None) or err}") from err


def read_recording(
    file: str | os.PathLike[str] | bytes | IO[bytes] | IO[str], *, source: str | None = None
) -> Recording:
    """Read a recording CSV from a path, from its bytes (what an importer read), or from a stream.

    A binary stream is read whole; a text stream's text is taken as UTF-8. The text (metadata,
    header, notes) is UTF-8, a BOM dropped, or Latin-1 when it is not UTF-8 (:func:`decode_text`).
    The numeric block is never decoded: numpy's C reader parses it from the bytes a few MiB at a
    time into the columns, so a read holds the file's bytes and the columns (about twice the file)
    and runs at about the speed of ``numpy.loadtxt`` itself. ``source`` names the file in messages
    and in :attr:`Recording.source` (default: the path, the stream's name, or ``"recording"``).

    Raises
    ------
    RecordingFormatError
        When the file cannot be read, lacks the header, has a non-numeric or short
        row, or holds no samples. The message names the file and the line.
    """
    if source:
        name = source
    elif isinstance(file, (str, os.PathLike)):
        name = str(file)
    else:
        name = str(getattr(file, "name", "recording"))
    data = _read_bytes(file, name)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise RecordingFormatError(f"{name}: UTF-16 text; a recording CSV is UTF-8 (or Latin-1)")

    pos = len(_UTF8_BOM) if data.startswith(_UTF8_BOM) else 0
    meta_lines: list[bytes] = []
    while data.startswith(b"#", pos):
        end = data.find(b"\n", pos)
        end = len(data) if end < 0 else end
        meta_lines.append(data[pos + 1 : end])
        pos = end + 1
    header_line = len(meta_lines)  # 0-based line number of the header
    end = data.find(b"\n", pos)
    end = len(data) if end < 0 else end
    note_lines = _note_lines(data, end)
    texts = decode_text(b"\n".join([*meta_lines, data[pos:end], *note_lines])).split("\n")
    metadata: dict[str, str] = {}
    for line in texts[:header_line]:
        key, sep, value = line.partition(":")
        if sep:
            metadata[key.strip()] = value.strip()
    header_text = texts[header_line].rstrip("\r")
    if pos >= len(data) or not header_text:
        raise RecordingFormatError(f"{name}: no header line 'time_s,torque_nm,position_deg,velocity_dps'")
    header = [h.strip() for h in header_text.split(",")]
    if tuple(header[:4]) != BASE_COLUMNS:
        raise RecordingFormatError(
            f"{name}: line {header_line + 1}: header must start with {','.join(BASE_COLUMNS)}, found {header_text[:80]!r}"
        )
    notes = tuple(line.strip() for line in texts[header_line + 1 :])
    stop, cut = _data_end(data, end + 1, len(header), written_by_isokin="isokin recording" in metadata)
    if cut:
        notes += (CUT_TAIL_NOTE,)
    columns = _parse_rows(data, end + 1, stop, len(header), name=name, first_line_no=header_line + 2)
    if len(columns[0]) == 0:
        raise RecordingFormatError(f"{name}: no samples after the header")
    extra: dict[str, np.ndarray] = {h: columns[j] for j, h in enumerate(header) if j >= 4}
    for key in ("status", "sequence"):
        if key in extra:
            values = extra[key]
            bad = np.flatnonzero(~(np.abs(values) < 2.0**53) | (values != np.trunc(values)))  # NaN fails the first
            if bad.size:
                raise RecordingFormatError(f"{name}: the {key} of sample {bad[0]} ({values[bad[0]]:g}) is not a whole number")
            extra[key] = values.astype(np.int64)
    markers = None
    if metadata.get("markers", "").strip():
        try:
            markers = tuple(int(m) for m in metadata["markers"].split(","))
        except ValueError as err:
            raise RecordingFormatError(f"{name}: metadata 'markers' must be comma-separated sample indices") from err
    return Recording(
        time_s=columns[0],
        torque_nm=columns[1],
        position_deg=columns[2],
        velocity_dps=columns[3],
        metadata=metadata,
        extra=extra,
        markers=markers,
        notes=notes,
        source=name,
    )
