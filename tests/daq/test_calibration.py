"""Calibration profiles: shipped files, loading errors, fitting from known points."""

from __future__ import annotations

import json

import numpy as np
import pytest

from daq.calibration import CalibrationProfile, fit_channel, load_profile, save_profile, shipped_profiles
from daq.errors import CalibrationError


def test_shipped_simulator_profile_matches_the_simulators_adc():
    # Agreed: counts = round(value / 500 * 32768) on every channel, so gain 500/32768, offset 0.
    profile = load_profile("simulator")
    for cal, unit in ((profile.torque, "N.m"), (profile.position, "deg"), (profile.velocity, "deg/s")):
        assert (cal.gain, cal.offset, cal.unit) == (500 / 32768, 0.0, unit)
    assert profile.torque.apply(np.array([32767, -32768, 1])).tolist() == [32767 * 500 / 32768, -500.0, 500 / 32768]


def test_every_shipped_profile_loads_and_the_biodex_ones_say_labs_must_fit_their_own():
    names = shipped_profiles()
    assert {"simulator", "biodex-5v-ads1115", "biodex-5v-arduino-uno"} <= set(names)
    for name in names:
        assert load_profile(name).name == name
    for name in ("biodex-5v-ads1115", "biodex-5v-arduino-uno"):
        assert "must fit its own" in load_profile(name).description


def test_arduino_profile_maps_its_10_bit_range_onto_plus_minus_500_units():
    cal = load_profile("biodex-5v-arduino-uno").torque
    assert cal.apply(np.array([0, 1023])) == pytest.approx([-500.0, 500.0])


def test_a_saved_profile_loads_back_equal(tmp_path):
    fit = fit_channel([100, 900], [0.0, 80.0])
    profile = CalibrationProfile("lab-3", "Biodex 4 #2", fit.calibration("N.m"), fit.calibration("deg"),
                                 fit.calibration("deg/s"), description="fitted 2026-11-24")
    save_profile(profile, tmp_path / "lab.json")
    assert load_profile(tmp_path / "lab.json") == profile


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"name": "x"}', "missing 'channels'"),
        ('{"name": "x", "channels": {"torque": {"gain": 1}, "position": {"gain": 1}}}', "channel 'velocity' is missing"),
        ('{"name": "x", "channels": {"torque": {"gain": 0}, "position": {"gain": 1}, "velocity": {"gain": 1}}}',
         "finite non-zero 'gain'"),
        ('{"name": "x", "channels": {"torque": {"gain": 1, "unit": "ft-lb"}, "position": {"gain": 1}, '
         '"velocity": {"gain": 1}}}', "must be in N.m"),
    ],
)
def test_a_bad_profile_file_is_a_calibration_error_naming_the_file(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(CalibrationError, match=message) as info:
        load_profile(path)
    assert str(path) in str(info.value)


def test_an_unknown_name_lists_the_shipped_profiles():
    with pytest.raises(CalibrationError, match="unknown calibration profile 'biodexx'.*simulator"):
        load_profile("biodexx")


def test_two_points_give_the_exact_line():
    fit = fit_channel([-16000, 16000], [-100.0, 300.0])
    assert (fit.gain, fit.offset, fit.rms_residual) == (400 / 32000, 100.0, 0.0)


def test_least_squares_through_noisy_points_reports_residuals():
    rng = np.random.default_rng(3)
    counts = np.linspace(-30000, 30000, 25)
    noise = rng.normal(0, 0.2, counts.size)
    fit = fit_channel(counts, 0.0125 * counts - 4.0 + noise)
    assert fit.gain == pytest.approx(0.0125, rel=1e-3)
    assert fit.offset == pytest.approx(-4.0, abs=0.1)
    assert fit.rms_residual == pytest.approx(np.std(noise), rel=0.2)
    np.testing.assert_allclose(fit.residuals, 0.0125 * counts - 4.0 + noise - (fit.gain * counts + fit.offset))


def test_degenerate_points_cannot_be_fitted():
    with pytest.raises(CalibrationError, match="same count"):
        fit_channel([512, 512, 512], [0.0, 10.0, 20.0])
    with pytest.raises(ValueError, match="at least two"):
        fit_channel([512], [0.0])
    with pytest.raises(ValueError, match="equal length"):
        fit_channel([1, 2, 3], [0.0, 1.0])


def test_profile_json_has_units_in_every_channel(tmp_path):
    save_profile(load_profile("simulator"), tmp_path / "s.json")
    channels = json.loads((tmp_path / "s.json").read_text())["channels"]
    assert {ch: v["unit"] for ch, v in channels.items()} == {"torque": "N.m", "position": "deg", "velocity": "deg/s"}
