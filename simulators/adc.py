"""The simulated board's analog-to-digital converter: a Biodex-style +-5 V output read by a 16-bit ADC.

Each channel's physical value (torque in N.m, position in deg, velocity in deg/s)
appears on the analog output at 100 units per volt, so the +-5 V span covers
+-500 units, and a signed 16-bit converter reads it::

    counts = round(value / 500 * 32768), clipped to [-32768, 32767]

A clipped sample carries the OVERRANGE status bit. The calibration that undoes
this is gain = 500/32768 units per count and offset 0 for all three channels
(:data:`GAIN_UNITS_PER_COUNT`); the host's ``simulator`` calibration profile holds
exactly these numbers.
"""

from __future__ import annotations

import numpy as np

from firmware_protocols.messages import SampleStatus

__all__ = [
    "ADC_BITS",
    "COUNT_MAX",
    "COUNT_MIN",
    "FULL_SCALE_UNITS",
    "GAIN_UNITS_PER_COUNT",
    "overrange_status",
    "quantise",
    "to_units",
]

ADC_BITS = 16
#: Physical value (N.m, deg or deg/s) at +5 V.
FULL_SCALE_UNITS = 500.0
COUNT_MIN = -(1 << (ADC_BITS - 1))
COUNT_MAX = (1 << (ADC_BITS - 1)) - 1
#: Units (N.m, deg or deg/s) per ADC count: the calibration gain of every channel.
GAIN_UNITS_PER_COUNT = FULL_SCALE_UNITS / (1 << (ADC_BITS - 1))


def quantise(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Convert physical values to ADC counts.

    Parameters
    ----------
    values
        Channel values in the channel's unit (N.m, deg or deg/s).

    Returns
    -------
    counts, clipped
        ``counts`` as int32 (within the int16 range), and a boolean array, True
        where the value was outside the converter's range and was clipped.

    Example
    -------
    >>> quantise(np.array([1.0, -600.0]))[0].tolist()
    [66, -32768]
    """
    scaled = np.rint(np.asarray(values, dtype=np.float64) / GAIN_UNITS_PER_COUNT)
    clipped = (scaled < COUNT_MIN) | (scaled > COUNT_MAX)
    counts = np.clip(scaled, COUNT_MIN, COUNT_MAX).astype(np.int32)
    return counts, clipped


def to_units(counts: np.ndarray) -> np.ndarray:
    """Counts back to physical units (N.m, deg or deg/s): the ``simulator`` calibration."""
    return np.asarray(counts, dtype=np.float64) * GAIN_UNITS_PER_COUNT


def overrange_status(*clipped: np.ndarray) -> np.ndarray:
    """Status bytes with OVERRANGE set where any of the channels was clipped."""
    any_clipped = np.logical_or.reduce(clipped)
    return np.where(any_clipped, np.uint8(SampleStatus.OVERRANGE), np.uint8(0)).astype(np.uint8)
