"""Samples in the database: chunks of packed rows, appended as they arrive, read back in one go.

A chunk's ``layout`` says how its ``data`` holds its rows (:data:`LAYOUTS`, the one table
every read and write goes through):

- layout 3 (written today): :data:`SAMPLE_DTYPE`'s columns packed by
  :mod:`api.storage.chunk_codec` (the calibrated channels as the device's counts, integers as
  their differences, the time axis predicted from the device clock, each in the fewest bytes
  that hold it; a CRC-32), about 8 bytes a sample of a 1 kHz recording before the
  database's own overhead, bit for bit what was packed;
- layout 2: the little-endian bytes of a :data:`SAMPLE_DTYPE` array (52 bytes a sample,
  with the raw device clock ``device_time_us``), written until migration 0008;
- layout 1: the 44-byte rows of trials stored before the device clock was kept (read back
  with ``device_time_us`` = -1, "unknown"); layout 4 is the same rows packed as layout 3
  (what migration 0008 makes of layout 1: a trial without its device clock stays one).

Appending is one INSERT per flush. Reading a trial is one SELECT of its chunks in order;
each run of chunks of one layout is decoded at once (one ``b"".join`` and one
``numpy.frombuffer`` for the plain layouts, :func:`~api.storage.chunk_codec.decode_chunks`
for the packed ones) (:func:`read_samples`), or the same in bounded blocks for streaming
(:func:`iter_samples`). A chunk whose bytes do not decode to exactly its ``sample_count``
rows raises :class:`CorruptSamplesError` naming the trial and the chunk.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from api.errors import StoredDataError
from api.storage.chunk_codec import CorruptChunkError, Scale, decode_chunks, encode_columns
from api.storage.models import SampleChunk
from daq.calibration import CalibrationProfile

__all__ = [
    "LAYOUT",
    "LAYOUTS",
    "PACKED_LAYOUT_OF",
    "SAMPLE_DTYPE",
    "UNKNOWN_DEVICE_TIME",
    "CorruptSamplesError",
    "Layout",
    "SampleBlock",
    "append_samples",
    "calibration_scales",
    "damaged_chunks",
    "decode_chunk_data",
    "encode_chunk_data",
    "iter_samples",
    "layouts_without_device_clock",
    "pack_samples",
    "read_samples",
]

_V1_FIELDS = [
    ("time_s", "<f8"),
    ("torque_nm", "<f8"),
    ("position_deg", "<f8"),
    ("velocity_dps", "<f8"),
    ("status", "<u4"),
    ("sequence", "<i8"),
]
#: One stored sample: seconds, N.m, deg, deg/s, device status bits, device sample index, device clock (us).
SAMPLE_DTYPE = np.dtype([*_V1_FIELDS, ("device_time_us", "<i8")])


@dataclass(frozen=True)
class Layout:
    """How a chunk's ``data`` holds its rows: their type, and whether packed by :mod:`api.storage.chunk_codec`."""

    dtype: np.dtype
    packed: bool

    @property
    def has_device_clock(self) -> bool:
        return "device_time_us" in (self.dtype.names or ())


#: Chunk layout -> how its data is stored.
LAYOUTS: dict[int, Layout] = {
    1: Layout(np.dtype(_V1_FIELDS), packed=False),
    2: Layout(SAMPLE_DTYPE, packed=False),
    3: Layout(SAMPLE_DTYPE, packed=True),
    4: Layout(np.dtype(_V1_FIELDS), packed=True),
}
#: The layout new chunks are written in.
LAYOUT = 3
#: A plain layout -> the packed layout of the same rows (migration 0008 converts to it).
PACKED_LAYOUT_OF: dict[int, int] = {1: 4, 2: 3}
#: ``device_time_us`` of a sample whose device clock is not known (imports, trials stored before layout 2).
UNKNOWN_DEVICE_TIME = -1


@dataclass(frozen=True, eq=False)
class SampleBlock:
    """Samples read back from the database, as columns (read-only arrays).

    Attributes
    ----------
    time_s, torque_nm, position_deg, velocity_dps
        Float64 arrays: time in s, torque in N.m, position in deg, velocity in deg/s.
    status, sequence
        Device status bits (uint32) and device sample index (int64).
    device_time_us
        The device clock of each sample, microseconds (int64; :data:`UNKNOWN_DEVICE_TIME` when not known).
    """

    time_s: np.ndarray
    torque_nm: np.ndarray
    position_deg: np.ndarray
    velocity_dps: np.ndarray
    status: np.ndarray
    sequence: np.ndarray
    device_time_us: np.ndarray

    @property
    def has_device_time(self) -> bool:
        """Whether every sample's device clock is known."""
        return bool(len(self.device_time_us)) and int(self.device_time_us.min()) > UNKNOWN_DEVICE_TIME

    def __len__(self) -> int:
        return len(self.time_s)


def pack_samples(
    time_s: np.ndarray,
    torque_nm: np.ndarray,
    position_deg: np.ndarray,
    velocity_dps: np.ndarray,
    status: np.ndarray,
    sequence: np.ndarray,
    device_time_us: np.ndarray | None = None,
) -> np.ndarray:
    """Pack equal-length columns into one structured array of :data:`SAMPLE_DTYPE`.

    ``device_time_us`` is the raw device clock (us); ``None`` stores it as unknown (an import).

    Raises
    ------
    ValueError
        When the columns differ in length.
    """
    n = len(time_s)
    clock = np.full(n, UNKNOWN_DEVICE_TIME, dtype=np.int64) if device_time_us is None else device_time_us
    columns = (time_s, torque_nm, position_deg, velocity_dps, status, sequence, clock)
    if any(len(c) != n for c in columns):
        raise ValueError(f"sample columns differ in length: {[len(c) for c in columns]}")
    rows = np.empty(n, dtype=SAMPLE_DTYPE)
    for name, column in zip(SAMPLE_DTYPE.names or (), columns, strict=True):
        rows[name] = column
    return rows


def append_samples(
    session: Session,
    trial_id: int,
    rows: np.ndarray,
    *,
    chunk_index: int | None = None,
    scales: Mapping[str, Scale] | None = None,
) -> SampleChunk | None:
    """Add one chunk of packed rows (from :func:`pack_samples`) after the trial's last chunk, in :data:`LAYOUT`.

    ``chunk_index`` is the new chunk's place when the caller knows it (a recording counts its
    own chunks), else it is looked up. ``scales`` maps calibrated columns (``torque_nm``,
    ``position_deg``, ``velocity_dps``) to the ``(gain, offset)`` that made them from the
    device's counts, so they are stored as the counts (see :mod:`api.storage.chunk_codec`;
    a column the calibration does not reproduce bit for bit is stored as it is). The caller
    commits. Nothing is added for an empty block (returns ``None``).
    """
    if rows.dtype != SAMPLE_DTYPE:
        raise ValueError(f"rows must have SAMPLE_DTYPE, not {rows.dtype}")
    if len(rows) == 0:
        return None
    if chunk_index is None:
        last = session.scalar(select(func.max(SampleChunk.chunk_index)).where(SampleChunk.trial_id == trial_id))
        chunk_index = 0 if last is None else last + 1
    chunk = SampleChunk(
        trial_id=trial_id,
        chunk_index=chunk_index,
        first_time_s=float(rows["time_s"][0]),
        last_time_s=float(rows["time_s"][-1]),
        sample_count=len(rows),
        layout=LAYOUT,
        data=encode_chunk_data(rows, LAYOUT, scales),
    )
    session.add(chunk)
    return chunk


def calibration_scales(calibration: CalibrationProfile | None) -> dict[str, Scale]:
    """The ``scales`` of :func:`append_samples` for samples calibrated with ``calibration`` (none: ``{}``)."""
    if calibration is None:
        return {}
    return {
        "torque_nm": (calibration.torque.gain, calibration.torque.offset),
        "position_deg": (calibration.position.gain, calibration.position.offset),
        "velocity_dps": (calibration.velocity.gain, calibration.velocity.offset),
    }


def encode_chunk_data(
    columns: Mapping[str, np.ndarray] | np.ndarray, layout: int, scales: Mapping[str, Scale] | None = None
) -> bytes:
    """The ``data`` of a chunk of ``layout`` holding ``columns`` (every field of the layout's rows, or such rows)."""
    spec = LAYOUTS[layout]
    names = spec.dtype.names or ()
    if spec.packed:
        return encode_columns({name: columns[name] for name in names}, spec.dtype, scales)
    rows = np.empty(len(columns[names[0]]), dtype=spec.dtype)
    for name in names:
        rows[name] = columns[name]
    return rows.tobytes()


def decode_chunk_data(layout: int, chunks: list[tuple[int, bytes]]) -> dict[str, np.ndarray]:
    """The columns of ``layout``'s rows held by consecutive chunks of that layout, given as ``(sample_count, data)``.

    Raises
    ------
    CorruptChunkError
        A chunk's data does not hold exactly ``sample_count`` rows (its ``place`` in ``chunks`` is set).
    ValueError
        The layout is unknown to this version of isokin.
    """
    try:
        spec = LAYOUTS[layout]
    except KeyError:
        raise ValueError(f"sample chunk layout {layout} is unknown to this version of isokin") from None
    if spec.packed:
        return decode_chunks([data for _, data in chunks], spec.dtype, [count for count, _ in chunks])
    for place, (count, data) in enumerate(chunks):
        if len(data) != count * spec.dtype.itemsize:
            raise CorruptChunkError(
                f"{len(data)} bytes where {count} rows of layout {layout} take {count * spec.dtype.itemsize}", place
            )
    rows = np.frombuffer(b"".join(data for _, data in chunks), dtype=spec.dtype)
    return {name: rows[name] for name in spec.dtype.names or ()}


def layouts_without_device_clock() -> list[int]:
    """The layouts whose chunks do not keep the device clock (trials stored before it was kept)."""
    return [number for number, spec in LAYOUTS.items() if not spec.has_device_clock]


def read_samples(
    session: Session, trial_id: int, *, start_s: float | None = None, end_s: float | None = None
) -> SampleBlock:
    """Read a trial's samples in order, optionally only ``start_s <= time_s <= end_s`` (seconds)."""
    rows = session.execute(_chunks(trial_id, start_s, end_s))
    return _block(trial_id, [tuple(row) for row in rows], start_s, end_s)  # type: ignore[misc]


def iter_samples(
    session: Session,
    trial_id: int,
    *,
    start_s: float | None = None,
    end_s: float | None = None,
    chunks_per_block: int = 64,
) -> Iterator[SampleBlock]:
    """Read a trial's samples in order as a stream of blocks (each up to ``chunks_per_block`` chunks).

    Only ``start_s <= time_s <= end_s`` (seconds) when given; empty blocks are skipped.
    Memory stays bounded by one block, so a long trial can be streamed to a client.
    """
    query = _chunks(trial_id, start_s, end_s)
    batch: list[_Chunk] = []
    for row in session.execute(query.execution_options(yield_per=chunks_per_block)):
        batch.append(tuple(row))  # type: ignore[arg-type]
        if len(batch) >= chunks_per_block:
            block = _block(trial_id, batch, start_s, end_s)
            batch = []
            if len(block):
                yield block
    if batch:
        block = _block(trial_id, batch, start_s, end_s)
        if len(block):
            yield block


def damaged_chunks(session: Session, trial_id: int, *, rows_per_batch: int = 200_000) -> list[str]:
    """Every stored chunk of a trial that does not decode to exactly its rows (a packed chunk's CRC-32, header and
    codecs; a plain chunk's length), each named with the reason, and each layout this version does not know, once;
    empty when whole. Reads the trial in full, a batch of about ``rows_per_batch`` rows at a time: for
    ``isokin db check``, not for a request.
    """
    problems: list[str] = []
    unknown: set[int] = set()

    def check(batch: list[_Chunk]) -> None:
        try:
            _columns(trial_id, batch)
        except Exception:  # which of them: one at a time
            for chunk in batch:
                if chunk[1] not in LAYOUTS:
                    if chunk[1] not in unknown:
                        unknown.add(chunk[1])
                        problems.append(f"trial {trial_id}: sample chunks of layout {chunk[1]}, unknown to this version "
                                        "of isokin (written by a newer one?)")  # fmt: skip
                    continue
                try:
                    _columns(trial_id, [chunk])
                except CorruptSamplesError as err:
                    problems.append(str(err))
                except Exception as err:  # data that is not bytes at all (SQLite lets text into a BLOB column)
                    problems.append(f"trial {trial_id}: sample chunk {chunk[0]} (layout {chunk[1]}) is damaged: {err}")

    batch: list[_Chunk] = []
    rows = 0
    for row in session.execute(_chunks(trial_id, None, None).execution_options(yield_per=64)):
        batch.append(tuple(row))  # type: ignore[arg-type]
        rows += int(row[2] or 0)
        if rows >= rows_per_batch:
            check(batch)
            batch, rows = [], 0
    if batch:
        check(batch)
    return problems


class CorruptSamplesError(StoredDataError):
    """A stored chunk of a trial's samples cannot be decoded to exactly its rows."""


#: A chunk as read: ``(chunk_index, layout, sample_count, data)``.
_Chunk = tuple[int, int, int, bytes]


def _chunks(trial_id: int, start_s: float | None, end_s: float | None) -> Select[int, int, int, bytes]:
    """``(chunk_index, layout, sample_count, data)`` of the chunks overlapping ``[start_s, end_s]``, in order."""
    query = (
        select(SampleChunk.chunk_index, SampleChunk.layout, SampleChunk.sample_count, SampleChunk.data)
        .where(SampleChunk.trial_id == trial_id)
        .order_by(SampleChunk.chunk_index)
    )
    if start_s is not None:
        query = query.where(SampleChunk.last_time_s >= start_s)
    if end_s is not None:
        query = query.where(SampleChunk.first_time_s <= end_s)
    return query


def _columns(trial_id: int, chunks: list[_Chunk]) -> dict[str, np.ndarray]:
    """Chunks decoded into the columns of :data:`SAMPLE_DTYPE` (older layouts completed), one decode per run of a layout."""
    runs: list[dict[str, np.ndarray]] = []
    k = 0
    while k < len(chunks):
        layout = chunks[k][1]
        end = k
        while end < len(chunks) and chunks[end][1] == layout:
            end += 1
        try:
            columns = decode_chunk_data(layout, [(count, data) for _, _, count, data in chunks[k:end]])
        except CorruptChunkError as err:
            index = chunks[k + err.place][0] if err.place is not None else "?"
            raise CorruptSamplesError(f"trial {trial_id}: sample chunk {index} (layout {layout}) is damaged: {err}") from err
        if "device_time_us" not in columns:
            columns["device_time_us"] = np.full(len(columns["time_s"]), UNKNOWN_DEVICE_TIME, dtype=np.int64)
        for column in columns.values():
            column.flags.writeable = False  # as numpy.frombuffer's of the plain layouts
        runs.append(columns)
        k = end
    if len(runs) == 1:
        return runs[0]
    return {
        name: np.concatenate([run[name] for run in runs]) if runs else np.empty(0, dtype=SAMPLE_DTYPE[name])
        for name in SAMPLE_DTYPE.names or ()
    }


def _block(trial_id: int, chunks: list[_Chunk], start_s: float | None, end_s: float | None) -> SampleBlock:
    columns = _columns(trial_id, chunks)
    if start_s is not None or end_s is not None:
        keep = np.ones(len(columns["time_s"]), dtype=bool)
        if start_s is not None:
            keep &= columns["time_s"] >= start_s
        if end_s is not None:
            keep &= columns["time_s"] <= end_s
        columns = {name: column[keep] for name, column in columns.items()}
    return SampleBlock(**columns)
