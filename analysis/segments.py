"""Many segments of one signal measured at once: the per-movement figures without a Python loop per movement.

A :class:`Segments` lays segments (movements, load ranges) end to end in one flat array: segment ``i``
holds flat samples ``offsets[i]`` to ``offsets[i + 1]``. Its methods reduce each segment (sum, max,
first maximum) or find, for each segment, the first or last sample of a mask inside a given flat range,
with a few whole-array numpy operations whatever the number of segments. Each gives exactly what the
same reduction over the segment's own array gives (sums excepted: ``numpy.add.reduceat`` adds in order,
``numpy.sum`` pairwise, so they can differ in the last bits).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Segments", "first_in", "gather_index", "last_in", "range_reduce"]


def _owners(offsets: np.ndarray) -> np.ndarray:
    """The segment of each sample of segments bounded by ``offsets`` (``numpy.repeat`` of the numbers, faster)."""
    step = np.zeros(int(offsets[-1]), dtype=np.intp)
    step[offsets[1:-1]] = 1  # every segment holds a sample: the inner offsets are distinct and inside
    owners: np.ndarray = np.cumsum(step, out=step)
    return owners


def gather_index(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Indices ``starts[i], ..., starts[i] + lengths[i] - 1`` of every segment, end to end (int)."""
    segments = Segments.of(lengths)
    index: np.ndarray = np.arange(int(segments.offsets[-1]), dtype=np.intp)
    index += segments.spread(np.asarray(starts, dtype=np.intp) - segments.starts)
    return index


@dataclass(frozen=True, eq=False)
class Segments:
    """Segments of ``lengths[i]`` (at least 1) samples laid end to end; ``offsets`` has one more entry, ``owner``
    gives each sample's segment."""

    lengths: np.ndarray
    offsets: np.ndarray
    owner: np.ndarray

    @classmethod
    def of(cls, lengths: Sequence[int] | np.ndarray) -> Segments:
        n = np.asarray(lengths, dtype=np.intp)
        if len(n) and int(n.min()) < 1:
            raise ValueError("segments must hold at least one sample")
        offsets = np.concatenate([[0], np.cumsum(n)]).astype(np.intp)
        return cls(n, offsets, _owners(offsets))

    @property
    def starts(self) -> np.ndarray:
        return self.offsets[:-1]

    @property
    def stops(self) -> np.ndarray:
        return self.offsets[1:]

    def __len__(self) -> int:
        return len(self.lengths)

    def spread(self, per_segment: np.ndarray) -> np.ndarray:
        """Each segment's value repeated over its samples."""
        spread: np.ndarray = np.take(per_segment, self.owner)  # numpy.take: several times faster than x[index]
        return spread

    def reduce(self, ufunc: np.ufunc, values: np.ndarray) -> np.ndarray:
        """``ufunc.reduce`` over each segment's samples."""
        if not len(self):
            return np.empty(0, dtype=values.dtype)
        return np.asarray(ufunc.reduceat(values, self.starts))

    def argmax(self, values: np.ndarray) -> np.ndarray:
        """Flat index of each segment's first largest sample (``numpy.argmax``'s choice)."""
        return first_in(values >= self.spread(self.reduce(np.maximum, values)), self.starts, self.stops)


def range_reduce(ufunc: np.ufunc, values: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """``ufunc.reduce(values[lo[i]:hi[i]])`` for each ``i`` (every range non-empty, the ranges in order)."""
    if not len(lo):
        return np.empty(0, dtype=values.dtype)
    bounds = np.column_stack([lo, hi]).ravel()
    if bounds[-1] == len(values):  # the last range ends at the array's end: reduceat's last slice runs there anyway
        bounds = bounds[:-1]
    if len(bounds) and int(bounds.max()) >= len(values):
        values = np.append(values, values[:1])
    return np.asarray(ufunc.reduceat(values, bounds)[::2])


def first_in(mask: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The first flat index ``>= lo[i]`` and ``< hi[i]`` where ``mask`` holds, or -1, for each ``i``."""
    where = np.flatnonzero(mask)
    if not len(where):
        return np.full(len(lo), -1, dtype=np.intp)
    k = np.searchsorted(where, lo)
    found = where[np.minimum(k, len(where) - 1)]
    return np.where((k < len(where)) & (found < hi), found, -1)


def last_in(mask: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The last flat index ``>= lo[i]`` and ``< hi[i]`` where ``mask`` holds, or -1, for each ``i``."""
    where = np.flatnonzero(mask)
    if not len(where):
        return np.full(len(lo), -1, dtype=np.intp)
    k = np.searchsorted(where, hi) - 1
    found = where[np.maximum(k, 0)]
    return np.where((k >= 0) & (found >= lo), found, -1)
