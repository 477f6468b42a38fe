import numpy as np
import pytest

from analysis import AnalysisError, gravity_correct, gravity_torque, lowpass, sample_rate_of


def test_gravity_correction_removes_the_limb_weight_torque_at_every_angle():
    position = np.linspace(-10.0, 100.0, 111)
    muscle = 50.0 * np.sin(np.radians(position))
    measured = muscle + 25.0 * np.cos(np.radians(position - 10.0))
    corrected = gravity_correct(measured, position, gravity_torque_nm=25.0, horizontal_angle_deg=10.0)
    np.testing.assert_allclose(corrected, muscle, atol=1e-12)


def test_gravity_torque_is_full_when_horizontal_and_zero_when_vertical():
    g = gravity_torque(np.array([0.0, 90.0]), gravity_torque_nm=20.0, horizontal_angle_deg=0.0)
    np.testing.assert_allclose(g, [20.0, 0.0], atol=1e-12)


def test_lowpass_keeps_slow_signal_without_lag_and_removes_fast_noise():
    fs = 1000.0
    t = np.arange(0, 4, 1 / fs)
    slow = np.sin(2 * np.pi * 1.0 * t)
    fast = 0.5 * np.sin(2 * np.pi * 150.0 * t)
    out = lowpass(slow + fast, fs, cutoff_hz=20.0)
    inner = slice(500, -500)
    assert np.max(np.abs(out[inner] - slow[inner])) < 0.01
    one_period = slice(1000, 2000)
    assert abs(int(np.argmax(out[one_period])) - int(np.argmax(slow[one_period]))) <= 2  # zero lag: peaks line up


@pytest.mark.parametrize("cutoff", [0.0, -1.0, 50.0, 80.0])
def test_lowpass_rejects_a_cutoff_outside_zero_to_nyquist(cutoff):
    with pytest.raises(ValueError, match="cutoff_hz"):
        lowpass(np.zeros(100), 100.0, cutoff_hz=cutoff)


def test_lowpass_refuses_a_signal_too_short_to_filter():
    with pytest.raises(AnalysisError, match="too few samples"):
        lowpass(np.zeros(5), 100.0, cutoff_hz=10.0)


def test_sample_rate_comes_from_the_median_interval_despite_a_gap():
    t = np.concatenate([np.arange(0, 1, 0.002), np.arange(1.5, 2, 0.002)])
    assert sample_rate_of(t) == pytest.approx(500.0)


def test_sample_rate_needs_increasing_time():
    with pytest.raises(AnalysisError):
        sample_rate_of(np.array([1.0, 1.0, 1.0]))
