"""Samples in the database: chunks of packed rows, appended as they arrive, read back in one go.

A chunk's ``data`` is the little-endian bytes of a numpy structured array of
:data:`SAMPLE_DTYPE` (44 bytes a sample). Appending is one INSERT per flush; reading a
trial is one SELECT of its chunks in order, one ``b"".join`` and one ``numpy.frombuffer``
(:func:`read_samples`), or the same in bounded blocks for streaming (:func:`iter_samples`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from api.storage.models import SampleChunk

__all__ = ["SAMPLE_DTYPE", "SampleBlock", "append_samples", "iter_samples", "pack_samples", "read_samples"]

#: One stored sample: seconds, N.m, deg, deg/s, device status bits, device sample index.
SAMPLE_DTYPE = np.dtype(
    [
        ("time_s", "<f8"),
        ("torque_nm", "<f8"),
        ("position_deg", "<f8"),
        ("velocity_dps", "<f8"),
        ("status", "<u4"),
        ("sequence", "<i8"),
    ]
)


@dataclass(frozen=True, eq=False)
class SampleBlock:
    """Samples read back from the database, as columns (read-only arrays).

    Attributes
    ----------
    time_s, torque_nm, position_deg, velocity_dps
        Float64 arrays: time in s, torque in N.m, position in deg, velocity in deg/s.
    status, sequence
        Device status bits (uint32) and device sample index (int64).
    """

    time_s: np.ndarray
    torque_nm: np.ndarray
    position_deg: np.ndarray
    velocity_dps: np.ndarray
    status: np.ndarray
    sequence: np.ndarray

    def __len__(self) -> int:
        return len(self.time_s)


def pack_samples(
    time_s: np.ndarray,
    torque_nm: np.ndarray,
    position_deg: np.ndarray,
    velocity_dps: np.ndarray,
    status: np.ndarray,
    sequence: np.ndarray,
) -> np.ndarray:
    """Pack equal-length columns into one structured array of :data:`SAMPLE_DTYPE`.

    Raises
    ------
    ValueError
        When the columns differ in length.
    """
    columns = (time_s, torque_nm, position_deg, velocity_dps, status, sequence)
    n = len(time_s)
    if any(len(c) != n for c in columns):
        raise ValueError(f"sample columns differ in length: {[len(c) for c in columns]}")
    rows = np.empty(n, dtype=SAMPLE_DTYPE)
    for name, column in zip(SAMPLE_DTYPE.names or (), columns, strict=True):
        rows[name] = column
    return rows


def append_samples(session: Session, trial_id: int, rows: np.ndarray) -> SampleChunk | None:
    """Add one chunk of packed rows (from :func:`pack_samples`) after the trial's last chunk.

    The caller commits. Nothing is added for an empty block (returns ``None``).
    """
    if rows.dtype != SAMPLE_DTYPE:
        raise ValueError(f"rows must have SAMPLE_DTYPE, not {rows.dtype}")
    if len(rows) == 0:
        return None
    last = session.scalar(select(func.max(SampleChunk.chunk_index)).where(SampleChunk.trial_id == trial_id))
    chunk = SampleChunk(
        trial_id=trial_id,
        chunk_index=0 if last is None else last + 1,
        first_time_s=float(rows["time_s"][0]),
        last_time_s=float(rows["time_s"][-1]),
        sample_count=len(rows),
        data=rows.tobytes(),
    )
    session.add(chunk)
    return chunk


def read_samples(
    session: Session, trial_id: int, *, start_s: float | None = None, end_s: float | None = None
) -> SampleBlock:
    """Read a trial's samples in order, optionally only ``start_s <= time_s <= end_s`` (seconds)."""
    query = _chunks(trial_id, start_s, end_s)
    return _block(b"".join(session.scalars(query)), start_s, end_s)


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
    batch: list[bytes] = []
    for data in session.scalars(query.execution_options(yield_per=chunks_per_block)):
        batch.append(data)
        if len(batch) >= chunks_per_block:
            block = _block(b"".join(batch), start_s, end_s)
            batch = []
            if len(block):
                yield block
    if batch:
        block = _block(b"".join(batch), start_s, end_s)
        if len(block):
            yield block


def _chunks(trial_id: int, start_s: float | None, end_s: float | None) -> Select[bytes]:
    """The chunk data overlapping ``[start_s, end_s]``, in order."""
    query = select(SampleChunk.data).where(SampleChunk.trial_id == trial_id).order_by(SampleChunk.chunk_index)
    if start_s is not None:
        query = query.where(SampleChunk.last_time_s >= start_s)
    if end_s is not None:
        query = query.where(SampleChunk.first_time_s <= end_s)
    return query


def _block(data: bytes, start_s: float | None, end_s: float | None) -> SampleBlock:
    rows = np.frombuffer(data, dtype=SAMPLE_DTYPE)
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
    )
