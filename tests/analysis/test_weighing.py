"""Limb weighing: the fit of the relaxed limb's gravitational torque."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.weighing import weigh_limb


def test_weighing_fits_the_limbs_weight_and_refuses_what_is_not_one() -> None:
    rng = np.random.default_rng(1)
    position = np.linspace(30.0, 70.0, 1000)
    torque = 24.0 * np.cos(np.radians(position - 5.0)) + rng.normal(0, 0.4, 1000)
    fit = weigh_limb(torque, position, horizontal_angle_deg=5.0, angle_deg=50.0)
    assert fit.gravity_torque_nm == pytest.approx(24.0, abs=0.1) and fit.residual_rms_nm == pytest.approx(0.4, abs=0.05)
    assert fit.samples == 1000 and fit.mean_position_deg == pytest.approx(50.0)
    with pytest.raises(ValueError, match="not at 20 deg"):
        weigh_limb(torque, position, horizontal_angle_deg=5.0, angle_deg=20.0)
    with pytest.raises(ValueError, match="vertical"):
        weigh_limb(np.zeros(100), np.full(100, 88.0))
    with pytest.raises(ValueError, match="does not follow the limb's weight"):
        weigh_limb(torque + 30 * np.sin(np.linspace(0, 6, 1000)), position, horizontal_angle_deg=5.0)
    with pytest.raises(ValueError, match="at least 10 samples"):
        weigh_limb(torque[:5], position[:5])
