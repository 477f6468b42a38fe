"""Counting a sampling board's movements from the velocity, to end its set."""

from __future__ import annotations

import numpy as np
import pytest

from daq.movements import MovementCounter


def test_movements_count_with_hysteresis_and_a_minimum_duration() -> None:
    rate = 1000.0
    move = np.full(300, 60.0)
    noisy_rest = np.r_[np.full(50, 29.0), np.full(50, 31.0)] * np.resize([1, -1], 100)  # crosses 0.5x60 only briefly
    blip = np.full(50, 60.0)  # 50 ms: too short to be a movement
    velocity = np.r_[np.zeros(100), move, noisy_rest, -move, np.zeros(100), blip, np.zeros(100), move, np.zeros(10)]
    counter = MovementCounter(60.0, rate)
    counts = [counter.feed(chunk) for chunk in np.array_split(velocity, 37)]  # any block boundaries
    assert counts[-1] == 3 and counts == sorted(counts)
    reversal = MovementCounter(60.0, rate)
    assert reversal.feed(np.r_[move, -move, move]) == 2  # the last one is still going
    assert reversal.feed(np.zeros(5)) == 3
    with pytest.raises(ValueError):
        MovementCounter(0.0, rate)
