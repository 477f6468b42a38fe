import numpy as np
import pytest

from analysis import find_movements, lowpass, movements_from_markers, plateau_speed
from analysis.segmentation import cluster_velocities


def _movements(s, **kw):
    v = lowpass(s.velocity_dps, 1000.0, cutoff_hz=20.0)
    return find_movements(s.time_s, s.position_deg, v, **kw)


def test_each_direction_change_starts_a_movement_and_rests_make_none(synth):
    s = synth(repetitions=4, rest_s=2.0)
    found = _movements(s)
    assert [m.sign for m in found] == [1, -1] * 4


def test_pauses_at_the_range_limits_and_noise_do_not_split_or_add_movements(synth):
    s = synth(repetitions=3, pause_s=0.8, noise_nm=5.0, seed=3)
    assert len(_movements(s)) == 6


def test_movements_smaller_than_the_minimum_range_are_ignored(synth):
    s = synth(repetitions=2, partial_after=1)
    assert len(_movements(s)) == 6  # the partial 30 deg moves pass a 5 deg minimum...
    assert len(_movements(s, min_rom_deg=40.0)) == 4  # ...and are ignored with a 40 deg minimum


def test_markers_bound_the_movements_and_trim_the_rest_between_them(synth):
    s = synth(repetitions=2, pause_s=0.5)
    by_velocity = _movements(s)
    bounds = [m.start - 100 for m in by_velocity] + [by_velocity[-1].stop + 50]
    from_markers = movements_from_markers(bounds, lowpass(s.velocity_dps, 1000.0, cutoff_hz=20.0))
    assert [m.sign for m in from_markers] == [m.sign for m in by_velocity]
    for a, b in zip(from_markers, by_velocity):
        assert abs(a.start - b.start) <= 2 and abs(a.stop - b.stop) <= 2


def test_plateau_speed_ignores_the_overshoot_and_the_ramps():
    speed = np.concatenate([np.linspace(0, 60, 50), np.full(10, 75.0), np.full(300, 60.0), np.linspace(60, 0, 50)])
    assert plateau_speed(speed) == pytest.approx(60.0)


def test_velocities_cluster_into_sets_within_the_tolerance():
    assert cluster_velocities([60.0, 180.0, 59.0, 61.5, 178.0], velocity_tolerance=0.15) == [0, 1, 0, 0, 1]


def test_find_movements_rejects_inconsistent_speed_thresholds():
    with pytest.raises(ValueError):
        find_movements(np.arange(10.0), np.zeros(10), np.zeros(10), rest_speed_dps=5.0, min_speed_dps=2.0)
