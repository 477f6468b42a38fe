"""DATA frames as numpy arrays: a decoder's :class:`~firmware_protocols.DataRun` viewed in place.

A run is whole DATA frames of one size back to back, so one structured numpy view
over its bytes gives the columns of every frame at once (the layout is PROTOCOL.md's
DATA: header, ``timestamp_us``, ``first_sample``, ``count``, the three columns of
counts, the status column, the CRC). Nothing is copied or decoded per sample in Python.
"""

from __future__ import annotations

import struct
import sys
from array import array
from functools import lru_cache

import numpy as np

from firmware_protocols import DataRun
from firmware_protocols.framing import HEADER_SIZE, OVERHEAD
from firmware_protocols.messages import DATA_HEADER_SIZE

__all__ = ["DataColumns"]

_COUNTS_OFFSET = HEADER_SIZE + DATA_HEADER_SIZE
_BIG_ENDIAN_HOST = sys.byteorder == "big"
#: A DATA frame's sequence number (header), timestamp_us and first_sample (payload), back to back from byte 6.
_SCALARS = struct.Struct("<IQI")
_SCALARS_OFFSET = 6


@lru_cache(maxsize=64)
def _frame_dtype(samples: int) -> np.dtype:
    """The columns of one DATA frame of ``samples`` samples as a numpy record (little-endian, at their wire offsets)."""
    return np.dtype(
        {
            "names": ["counts", "status"],
            "formats": [("<i4", (3, samples)), ("u1", (samples,))],
            "offsets": [_COUNTS_OFFSET, _COUNTS_OFFSET + 12 * samples],
            "itemsize": OVERHEAD + DATA_HEADER_SIZE + 13 * samples,
        }
    )




class DataColumns:
    """The fields of a run's frames, frame ``k`` at row ``k``.

    The headers are read with :mod:`struct` and the counts range-checked with Python's ``min`` and
    ``max`` (no numpy: a reader thread that wakes for one frame pays numpy's start-up on every
    wake-up); the numpy view of the columns is made once, by whoever first needs the arrays
    (:meth:`arrays`, a :class:`~daq.stream.SampleColumns`).

    Attributes
    ----------
    headers
        Per frame, ``(sequence, timestamp_us, first_sample)`` as Python ints: the frame's sequence
        number, the device clock at its first sample (us) and the device's sample counter.
    samples_per_frame
        Samples in each frame.
    """

    __slots__ = ("_arrays", "_frame_size", "_raw", "headers", "samples_per_frame")

    def __init__(self, run: DataRun) -> None:
        raw, size = run.raw, run.frame_size
        self._raw, self._frame_size = raw, size
        self.samples_per_frame = run.samples_per_frame
        if run.count == 1:
            self.headers: list[tuple[int, int, int]] = [_SCALARS.unpack_from(raw, _SCALARS_OFFSET)]
        else:
            self.headers = [_SCALARS.unpack_from(raw, at) for at in range(_SCALARS_OFFSET, len(raw), size)]
        self._arrays: tuple[np.ndarray, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.headers)

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Counts, int32 ``(frames, 3, samples_per_frame)`` (rows torque, position, velocity), and status bits,
        uint8 ``(frames, samples_per_frame)``: views of the run's bytes, made on the first call."""
        arrays = self._arrays
        if arrays is None:
            records = np.frombuffer(self._raw, dtype=_frame_dtype(self.samples_per_frame))
            arrays = self._arrays = (records["counts"], records["status"])
        return arrays

    def out_of_range(self, ranges: tuple[tuple[int, int], ...]) -> list[bool]:
        """Per frame: whether a count lies outside its channel's ``(low, high)`` (torque, position, velocity).

        Checked with Python's ``min`` and ``max`` over each frame's counts (cheaper than numpy's
        reductions on a few dozen values), channel by channel only when a frame does not fit the
        range all channels share.
        """
        raw, size, n = self._raw, self._frame_size, self.samples_per_frame
        low, high = max(low for low, _ in ranges), min(high for _, high in ranges)
        out = []
        for at in range(_COUNTS_OFFSET, len(raw), size):
            counts = array("i", raw[at : at + 12 * n])
            if _BIG_ENDIAN_HOST:  # pragma: no cover - the wire is little-endian
                counts.byteswap()
            if min(counts) >= low and max(counts) <= high:
                out.append(False)
            else:
                out.append(any(
                    min(counts[c * n : (c + 1) * n]) < lo or max(counts[c * n : (c + 1) * n]) > hi
                    for c, (lo, hi) in enumerate(ranges)
                ))  # fmt: skip
        return out
