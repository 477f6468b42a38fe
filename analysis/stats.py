"""Small numeric helpers shared by the analysis steps, written for the per-movement loop's speed."""

from __future__ import annotations

import numpy as np

__all__ = ["median"]


def median(values: np.ndarray) -> float:
    """Median of a 1-D array (the mean of the two middle values for an even count), like
    ``numpy.median`` at a fraction of its call overhead, which counts when it runs once per
    movement of an hour-long recording. NaN for an empty array."""
    n = len(values)
    if n == 0:
        return float("nan")
    k = n // 2
    if n % 2:
        return float(np.partition(values, k)[k])
    part = np.partition(values, (k - 1, k))
    return 0.5 * (float(part[k - 1]) + float(part[k]))
