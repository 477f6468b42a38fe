"""Ground truth: agrees with a brute-force reading of the noise-free muscle torque; JSON round trip."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from simulators.joints import DEFAULT_ROM_DEG, direction_sign
from simulators.model import SetProtocol, SetTruth, SimulatedSet, default_profile, simulate_set
from simulators.truth import RepTruth

PROFILE = default_profile()


def brute_force(sim: SimulatedSet, rep: RepTruth) -> tuple[float, float, float, float]:
    """Peak in the load range (found as the samples where the servo is exactly at the set
    velocity), its angle and time, and work as the time integral of torque x angular velocity."""
    direction = direction_sign(sim.truth.pattern, rep.group)
    moving = direction_sign(sim.truth.pattern, rep.movement)
    best, best_i = -math.inf, -1
    work = 0.0
    for i, t in enumerate(sim.time_s):
        if not rep.start_s <= t <= rep.end_s:
            continue
        torque = direction * sim.muscle_torque_nm[i]
        if abs(sim.servo_velocity_dps[i] - moving * rep.velocity_dps) < 1e-6 and torque > best:
            best, best_i = torque, i
        if i + 1 < len(sim.time_s) and sim.time_s[i + 1] <= rep.end_s:
            dt = sim.time_s[i + 1] - t
            power = [sim.muscle_torque_nm[j] * math.radians(sim.servo_velocity_dps[j]) for j in (i, i + 1)]
            work += 0.5 * (power[0] + power[1]) * dt
    return best, float(sim.servo_position_deg[best_i]), float(sim.time_s[best_i] - rep.start_s), abs(work)


@pytest.mark.parametrize(
    ("joint", "pattern", "mode", "group", "velocity_dps"),
    [
        ("knee", "flexion/extension", "con/con", None, 60.0),
        ("knee", "flexion/extension", "ecc/ecc", None, 180.0),
        ("shoulder", "external/internal rotation", "con/ecc", "internal rotation", 120.0),
        ("ankle", "plantarflexion/dorsiflexion", "ecc/con", "plantarflexion", 30.0),
    ],
)
def test_truth_matches_brute_force_from_the_muscle_torque(
    joint: str, pattern: str, mode: str, group: str | None, velocity_dps: float
) -> None:
    proto = SetProtocol(joint=joint, pattern=pattern, side="left", mode=mode, group=group, velocity_dps=velocity_dps, repetitions=2)
    sim = simulate_set(PROFILE, proto, seed=11)
    assert len(sim.truth.reps) == 4
    for rep in sim.truth.reps:
        peak, angle, ttp, work = brute_force(sim, rep)
        assert rep.peak_torque_nm == pytest.approx(peak, rel=1e-9)
        assert rep.angle_at_peak_deg == pytest.approx(angle, abs=1e-9)
        assert rep.time_to_peak_s == pytest.approx(ttp, abs=1e-9)
        assert rep.work_j == pytest.approx(work, rel=2e-3)
        assert rep.peak_torque_nm > 0 and rep.work_j > 0
        assert rep.peak_torque_unwindowed_nm >= rep.peak_torque_nm
        assert rep.start_s < rep.load_range_start_s < rep.load_range_end_s < rep.end_s


def test_truth_describes_the_set() -> None:
    proto = SetProtocol(joint="hip", pattern="abduction/adduction", side="right", mode="ecc/ecc")
    truth = simulate_set(PROFILE, proto, seed=0).truth
    assert (truth.joint, truth.pattern, truth.side, truth.mode) == ("hip", "abduction/adduction", "right", "ecc/ecc")
    assert truth.body_mass_kg == 75.0
    limb = PROFILE.pattern("hip", "abduction/adduction")
    assert (truth.gravity_torque_nm, truth.horizontal_angle_deg) == (limb.gravity_torque_nm, limb.horizontal_angle_deg)


@pytest.mark.parametrize(("joint", "pattern"), sorted(DEFAULT_ROM_DEG))
def test_true_peak_stays_inside_the_load_range_up_to_500_dps(joint: str, pattern: str) -> None:
    for velocity in (60.0, 300.0, 500.0):
        for mode in ("con/con", "ecc/ecc"):
            proto = SetProtocol(joint=joint, pattern=pattern, side="left", mode=mode, velocity_dps=velocity, repetitions=2)
            sim = simulate_set(PROFILE, proto, sample_rate_hz=500.0, seed=0, noise=False)
            for rep in sim.truth.reps:
                assert rep.peak_torque_nm == rep.peak_torque_unwindowed_nm, (velocity, mode, rep)


def test_empty_load_range_gives_nan_peak_and_null_json() -> None:
    proto = SetProtocol(joint="knee", side="left", velocity_dps=300.0, rom_deg=(40.0, 54.5), repetitions=1)
    sim = simulate_set(PROFILE, proto, sample_rate_hz=100.0, seed=0)
    rep = sim.truth.reps[0]
    assert rep.load_range_end_s - rep.load_range_start_s < 0.01
    assert math.isnan(rep.peak_torque_nm) and not math.isnan(rep.peak_torque_unwindowed_nm)
    data = json.loads(sim.truth.to_json())
    assert data["reps"][0]["peak_torque_nm"] is None
    assert math.isnan(SetTruth.from_dict(data).reps[0].peak_torque_nm)


def test_truth_json_round_trip(tmp_path: Path) -> None:
    sim = simulate_set(PROFILE, SetProtocol(joint="knee", side="left", mode="con/ecc", group="flexion"), seed=3)
    path = tmp_path / "truth.json"
    text = sim.truth.to_json(path)
    assert path.read_text() == text
    back = SetTruth.from_json(path)
    assert back == sim.truth
    assert SetTruth.from_dict(sim.truth.to_dict()) == sim.truth
    assert isinstance(back.reps[0], RepTruth) and isinstance(back.reps[0].index, int)


def test_truth_with_a_missing_field_is_refused() -> None:
    truth = simulate_set(PROFILE, SetProtocol(joint="knee", side="left", repetitions=1), seed=0).truth
    data = truth.to_dict()
    del data["reps"][0]["work_j"]
    with pytest.raises(ValueError, match="missing field 'work_j'"):
        SetTruth.from_dict(data)
    data = truth.to_dict()
    del data["mode"]
    with pytest.raises(ValueError, match="missing field 'mode'"):
        SetTruth.from_dict(data)

