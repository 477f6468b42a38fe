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


def _row_ok(line: bytes, columns: int) -> bool:
    fields = line.split(b",")
    if len(fields) != columns:
        return False
    try:
        for f in fields:
            float(f)
    except ValueError:
        return False
    return True


def _drop_cut_tail(data: bytes, body_start: int, columns: int, *, written_by_isokin: bool) -> tuple[bytes, bool]:
    """``data`` without its last line when a crash cut it short, and whether it was cut.

    The writer ends every line with a newline, so in a file it wrote a last line without one
    was cut mid-write; in any file a last data line with too few fields (or, lacking its newline,
    one that does not parse) was too. Only the last line is forgiven, and never the only data line
    (a file whose every row is short has the wrong header, and says so). Runs before the numpy
    parse and looks at the tail only, so it costs nothing on a long file.
    """
    size = len(data)
    terminated = data.endswith(b"\n")
    stop = size - 1 if terminated else size
    start = data.rfind(b"\n", body_start, stop) + 1
    if start == 0:
        start = body_start
    if start >= stop or start < body_start:
        return data, False
    line = data[start:stop].rstrip(b"\r")
    if not line.strip() or line.startswith(b"#"):
        return data, False
    if terminated:
        cut = len(line.split(b",")) < columns
    else:
        cut = written_by_isokin or not _row_ok(line, columns)
    if not cut:
        return data, False
    # Keep the line unless another data row stands before it.
    if not _has_data_row(data, body_start, start):
        return data, False
    return data[:start], True


def _has_data_row(data: bytes, begin: int, end: int) -> bool:
    """Whether ``data[begin:end]`` holds a data row, looking back from ``end`` (usually one line)."""
    while end > begin:
        start = max(data.rfind(b"\n", begin, end - 1) + 1, begin)
        line = data[start:end].strip()
        if line and not line.startswith(b"#"):
            return True
        end = start
    return False


def _first_bad_line(data: bytes, body_start: int, first_line_no: int, columns: int) -> int | None:
    """The 1-based line number of the first malformed data row (the error path only: slow is fine)."""
    for k, line in enumerate(data[body_start:].splitlines()):
        text = line.strip()
        if not text or text.startswith(b"#"):
            continue
        if not _row_ok(text, columns):
            return first_line_no + k
    return None


def read_recording(path: str | os.PathLike[str] | IO[str], *, source: str | None = None) -> Recording:
    """Read a recording CSV.

    The file is read as bytes in one call; the metadata lines and the header are decoded
    and parsed in Python, and the numeric block is parsed by numpy's C reader straight from
    the bytes (comment lines after the header are skipped there, and collected only when
    the file has some), so loading runs at about the speed of ``numpy.loadtxt`` itself.

    Raises
    ------
    RecordingFormatError
        When the file cannot be read, lacks the header, has a non-numeric or short
        row, or holds no samples. The message names the file and the line.
    """
    name = source or (str(path) if not hasattr(path, "read") else str(getattr(path, "name", "recording")))
    try:
        if isinstance(path, (str, os.PathLike)):
            with open(path, "rb") as f:
                data = f.read()
        else:
            raw = path.read()
            data = raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)
    except (OSError, UnicodeEncodeError) as err:
        raise RecordingFormatError(f"{name}: cannot read: {getattr(err, 'strerror', None) or err}") from err

    metadata: dict[str, str] = {}
    pos = 0
    line_no = 0
    try:
        while data.startswith(b"#", pos):
            end = data.find(b"\n", pos)
            end = len(data) if end < 0 else end
            key, sep, value = data[pos + 1 : end].decode("utf-8").partition(":")
            if sep:
                metadata[key.strip()] = value.strip()
            pos, line_no = end + 1, line_no + 1
        end = data.find(b"\n", pos)
        end = len(data) if end < 0 else end
        header_text = data[pos:end].decode("utf-8").rstrip("\r")
    except UnicodeDecodeError as err:
        raise RecordingFormatError(f"{name}: cannot read: {err}") from err
    if pos >= len(data) or not header_text:
        raise RecordingFormatError(f"{name}: no header line 'time_s,torque_nm,position_deg,velocity_dps'")
    header = [h.strip() for h in header_text.split(",")]
    if tuple(header[:4]) != BASE_COLUMNS:
        raise RecordingFormatError(
            f"{name}: line {line_no + 1}: header must start with {','.join(BASE_COLUMNS)}, found {header_text[:80]!r}"
        )
    header_line = line_no
    data, cut = _drop_cut_tail(data, end + 1, len(header), written_by_isokin="isokin recording" in metadata)
    notes: tuple[str, ...] = ()
    if data.find(b"#", end) >= 0:  # a byte search: far quicker than looking for "\n#"
        body = data[end + 1 :].decode("utf-8", errors="replace")
        notes = tuple(line[1:].strip() for line in body.splitlines() if line.startswith("#"))
    if cut:
        notes += (CUT_TAIL_NOTE,)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # numpy warns on an empty body; reported below
            table = np.loadtxt(
                io.BytesIO(data), delimiter=",", comments="#", skiprows=header_line + 1, dtype=np.float64, ndmin=2
            )
    except ValueError as err:
        where = _first_bad_line(data, end + 1, header_line + 2, len(header))
        raise RecordingFormatError(
            f"{name}: bad sample row{f' at line {where}' if where else f' after line {header_line + 1}'}: {err}"
        ) from err
    if table.shape[0] == 0:
        raise RecordingFormatError(f"{name}: no samples after the header")
    if table.shape[1] != len(header):
        raise RecordingFormatError(f"{name}: rows have {table.shape[1]} columns, header has {len(header)}")
    columns = np.ascontiguousarray(table.T)
    extra: dict[str, np.ndarray] = {h: columns[j] for j, h in enumerate(header) if j >= 4}
    for key in ("status", "sequence"):
        if key in extra:
            extra[key] = extra[key].astype(np.int64)
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
