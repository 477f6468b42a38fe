"""The pure parts of trial acquisition: movement counting, limb weighing, the device's CONFIGURE, sim:// URLs."""

from __future__ import annotations

import numpy as np
import pytest

from api.acquisition.movements import MovementCounter
from api.acquisition.plan import TrialPlan
from api.acquisition.simulator import sim_url
from api.acquisition.weighing import weigh_limb
from daq.driver import DeviceInfo
from firmware_protocols import Configure, Mode

PLAN = TrialPlan(1, "knee", "flexion/extension", "left", "con/ecc", "extension", 60, 180, 5, 0, 90, 1000)


def _info(drives_machine: bool) -> DeviceInfo:
    return DeviceInfo("binary", "m", "s", "1", (1000,), 100, drives_machine, False)


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


def test_the_plan_configures_a_driving_device_with_the_whole_set() -> None:
    assert PLAN.configure(_info(True)) == Configure(1000, 0, Mode.CON_ECC, -1, 60, 180, 0, 90, 5)
    assert PLAN.configure(_info(False)) == Configure(1000) and PLAN.configure(None) == Configure(1000)
    assert PLAN.movements == 10


def test_sim_urls_carry_the_trials_joint_and_side() -> None:
    assert sim_url("simulator", side="right", joint="knee") == "sim://?joint=knee&side=right&speed=1"
    assert sim_url("sim://?speed=20&side=left", side="right", profile=None) == "sim://?side=right&speed=20"
    with pytest.raises(ValueError, match="unknown option"):
        sim_url("sim://?colour=red")
