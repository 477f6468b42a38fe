"""Samples in the database: chunks of packed rows, appended as they arrive, read back in one go.

A chunk's ``data`` is the little-endian bytes of a numpy structured array; its ``layout``
says which: layout 2 is :data:`SAMPLE_DTYPE` (52 bytes a sample, with the raw device
clock ``device_time_us``), layout 1 the 44-byte rows of trials stored before the device
clock was kept (read back with ``device_time_us`` = -1, "unknown"). Appending is one INSERT
per flush; reading a trial is one SELECT of its chunks in order, one ``b"".join`` and one
``numpy.frombuffer`` per run of chunks of one layout (:func:`read_samples`), or the same in
bounded blocks for streaming (:func:`iter_samples`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from api.storage.models import SampleChunk

__all__ = [
    "LAYOUT",
    "SAMPLE_DTYPE",
    "UNKNOWN_DEVICE_TIME",
    "SampleBlock",
    "append_samples",
    "iter_samples",
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
#: The layout new chunks are written in.
LAYOUT = 2
#: Chunk layout -> its row type.
LAYOUTS: dict[int, np.dtype] = {1: np.dtype(_V1_FIELDS), 2: SAMPLE_DTYPE}
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


def append_samples(session: Session, trial_id: int, rows: np.ndarray, *, chunk_index: int | None = None) -> SampleChunk | None:
    """Add one chunk of packed rows (from :func:`pack_samples`) after the trial's last chunk.

    ``chunk_index`` is the new chunk's place when the caller knows it (a recording counts its
    own chunks), else it is looked up. The caller commits. Nothing is added for an empty block
    (returns ``None``).
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
        data=rows.tobytes(),
    )
    session.add(chunk)
    return chunk


def read_samples(
    session: Session, trial_id: int, *, start_s: float | None = None, end_s: float | None = None
) -> SampleBlock:
    """Read a trial's samples in order, optionally only ``start_s <= time_s <= end_s`` (seconds)."""
    rows = session.execute(_chunks(trial_id, start_s, end_s))
    return _block([(layout, data) for layout, data in rows], start_s, end_s)


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
    batch: list[tuple[int, bytes]] = []
    for layout, data in session.execute(query.execution_options(yield_per=chunks_per_block)):
        batch.append((layout, data))
        if len(batch) >= chunks_per_block:
            block = _block(batch, start_s, end_s)
            batch = []
            if len(block):
                yield block
    if batch:
        block = _block(batch, start_s, end_s)
        if len(block):
            yield block


def _chunks(trial_id: int, start_s: float | None, end_s: float | None) -> Select[int, bytes]:
    """``(layout, data)`` of the chunks overlapping ``[start_s, end_s]``, in order."""
    query = (
        select(SampleChunk.layout, SampleChunk.data)
        .where(SampleChunk.trial_id == trial_id)
        .order_by(SampleChunk.chunk_index)
    )
    if start_s is not None:
        query = query.where(SampleChunk.last_time_s >= start_s)
    if end_s is not None:
        query = query.where(SampleChunk.first_time_s <= end_s)
    return query


def _rows(chunks: list[tuple[int, bytes]]) -> np.ndarray:
    """Chunks decoded into rows of :data:`SAMPLE_DTYPE` (older layouts converted)."""
    runs: list[np.ndarray] = []
    k = 0
    while k < len(chunks):
        layout = chunks[k][0]
        end = k
        while end < len(chunks) and chunks[end][0] == layout:
            end += 1
        try:
            dtype = LAYOUTS[layout]
        except KeyError:
            raise ValueError(f"sample chunk layout {layout} is unknown to this version of isokin") from None
        rows = np.frombuffer(b"".join(data for _, data in chunks[k:end]), dtype=dtype)
        if dtype != SAMPLE_DTYPE:
            converted = np.empty(len(rows), dtype=SAMPLE_DTYPE)
            for name in dtype.names or ():
                converted[name] = rows[name]
            converted["device_time_us"] = UNKNOWN_DEVICE_TIME
            rows = converted
        runs.append(rows)
        k = end
    if len(runs) == 1:
        return runs[0]
    return np.concatenate(runs) if runs else np.empty(0, dtype=SAMPLE_DTYPE)


def _block(chunks: list[tuple[int, bytes]], start_s: float | None, end_s: float | None) -> SampleBlock:
    rows = _rows(chunks)
    if start_s is not None or end_s is not None:
        keep = np.ones(len(rows), dtype=bool)
        if start_s is not None:
            keep &= rows["time_s"] >= start_s
        if end_s is not None:
            keep &= rows["time_s"] <= end_s
        rows = rows[keep]
    return SampleBlock(
        time_s=rows["time_s"],
        torque_nm=rows["torque_nm"],
        position_deg=rows["position_deg"],
        velocity_dps=rows["velocity_dps"],
        status=rows["status"],
        sequence=rows["sequence"],
        device_time_us=rows["device_time_us"],
    )
