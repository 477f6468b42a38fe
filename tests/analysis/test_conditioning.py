import numpy as np
import pytest

from analysis import AnalysisError, gravity_correct, gravity_torque, lowpass, sample_rate_of
from analysis.conditioning import lowpass_segments
from analysis.cutoff import NOISE_BANDWIDTH, noise_sd, torque_cutoff_hz


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


def test_lowpass_keeps_the_level_of_a_segment_that_starts_steeply():
    fs = 1000.0
    t = np.arange(600) / fs
    rising = 100.0 * (1.0 - np.exp(-(t + 0.01) / 0.04)) * np.exp(-0.5 * ((t - 0.3) / 0.3) ** 2)
    out = lowpass(rising, fs, cutoff_hz=6.0)
    assert abs(out[0] - rising[0]) < 0.05  # scipy's default 9-sample extension leaves +5.6 N.m here
    assert np.max(np.abs(out[:100] - rising[:100])) < 4.0
    assert out.max() == pytest.approx(rising.max(), abs=0.1)


def test_noise_sd_recovers_white_noise_on_a_smooth_curve():
    fs = 1000.0
    t = np.arange(0, 2, 1 / fs)
    curve = 150.0 * np.sin(np.pi * t / 2.0) + np.random.default_rng(1).normal(0.0, 0.4, len(t))
    assert noise_sd(curve) == pytest.approx(0.4, rel=0.05)
    assert noise_sd(np.array([1.0, 2.0])) == 0.0


def test_torque_cutoff_is_as_high_as_the_noise_allows_within_its_bounds():
    common = {"noise_sd_nm": 0.4, "sample_rate_hz": 1000.0}
    assert torque_cutoff_hz(1.5, peak_torque_nm=150.0, **common) == 20.0  # strong signal: the top
    assert torque_cutoff_hz(1.5, peak_torque_nm=5.0, **common) == 6.0  # weak and slow: the bottom
    assert torque_cutoff_hz(0.3, peak_torque_nm=5.0, **common) == pytest.approx(10.0)  # 3 periods per load range
    assert torque_cutoff_hz(0.1, peak_torque_nm=5.0, **common) == 20.0  # never above the top
    middle = torque_cutoff_hz(1.5, peak_torque_nm=20.0, **common)
    assert 6.0 < middle < 20.0
    sd_left = 0.4 * np.sqrt(NOISE_BANDWIDTH * middle / 500.0)
    assert sd_left == pytest.approx(0.0025 * 20.0)  # the noise left is the limit: 0.25 % of the peak
    assert torque_cutoff_hz(1.5, peak_torque_nm=5.0, noise_sd_nm=0.0, sample_rate_hz=1000.0) == 20.0
    with pytest.raises(ValueError):
        torque_cutoff_hz(1.5, peak_torque_nm=5.0, min_cutoff_hz=30.0, **common)


@pytest.mark.parametrize("cutoff", [6.0, 20.0])
def test_lowpass_segments_equals_lowpass_on_each_segment(cutoff):
    rng = np.random.default_rng(3)
    signal = np.cumsum(rng.normal(0.0, 1.0, 60000))
    bounds, start = [], 0
    while start < 55000:
        n = int(rng.integers(2, 2500))
        bounds.append((start, start + n))
        start += n + int(rng.integers(0, 40))
    out = lowpass_segments(signal, bounds, 1000.0, cutoff_hz=cutoff)
    for (a, b), filtered in zip(bounds, out):
        expected = lowpass(signal[a:b], 1000.0, cutoff_hz=cutoff) if b - a > 9 else signal[a:b]
        np.testing.assert_allclose(filtered, expected, rtol=0, atol=1e-9)
