"""Signals of a simulated set: sign conventions, components, modes, kinematics, status, determinism."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from simulators.machine import MachineSettings
from simulators.model import (
    STATUS_AT_LIMIT,
    STATUS_SAFETY_STOP,
    RepTruth,
    SetProtocol,
    SimulatedSet,
    default_profile,
    simulate_set,
)

PROFILE = default_profile()


def knee(**kwargs: Any) -> SetProtocol:
    return SetProtocol(joint="knee", pattern="flexion/extension", side=kwargs.pop("side", "right"), **kwargs)


def load_range(sim: SimulatedSet, rep: RepTruth) -> np.ndarray:
    return (sim.time_s >= rep.load_range_start_s) & (sim.time_s <= rep.load_range_end_s)


def test_knee_con_con_signs_follow_the_convention() -> None:
    sim = simulate_set(PROFILE, knee(), seed=1, artifacts=False)
    for rep in sim.truth.reps:
        m = load_range(sim, rep)
        if rep.movement == "flexion":  # toward +: velocity > 0, flexors pull toward +
            assert np.all(sim.velocity_dps[m] > 0) and np.median(sim.torque_nm[m]) > 0
        else:
            assert np.all(sim.velocity_dps[m] < 0) and np.median(sim.torque_nm[m]) < 0
        assert np.mean(sim.muscle_torque_nm[m] * sim.servo_velocity_dps[m] > 0) > 0.9  # concentric


def test_knee_ecc_ecc_torque_opposes_the_movement() -> None:
    sim = simulate_set(PROFILE, knee(mode="ecc/ecc"), seed=1)
    for rep in sim.truth.reps:
        m = load_range(sim, rep)
        assert rep.contraction == "eccentric"
        assert np.mean(sim.muscle_torque_nm[m] * sim.servo_velocity_dps[m] < 0) > 0.9


def test_ankle_signs_name_the_acting_group() -> None:
    proto = SetProtocol(joint="ankle", pattern="plantarflexion/dorsiflexion", side="left", velocity_dps=30.0)
    sim = simulate_set(PROFILE, proto, seed=2, noise=False)
    for rep in sim.truth.reps:
        m = load_range(sim, rep)
        sign = 1 if rep.group == "plantarflexion" else -1
        assert np.mean(sign * sim.muscle_torque_nm[m] > 0) > 0.9


@pytest.mark.parametrize(
    ("mode", "group", "moves", "groups", "contractions"),
    [
        ("con/con", None, ["extension", "flexion"], ["extension", "flexion"], ["concentric", "concentric"]),
        ("ecc/ecc", None, ["extension", "flexion"], ["flexion", "extension"], ["eccentric", "eccentric"]),
        ("con/ecc", "flexion", ["flexion", "extension"], ["flexion", "flexion"], ["concentric", "eccentric"]),
        ("ecc/con", "flexion", ["extension", "flexion"], ["flexion", "flexion"], ["eccentric", "concentric"]),
    ],
)
def test_repetition_count_and_order_per_mode(
    mode: str, group: str | None, moves: list[str], groups: list[str], contractions: list[str]
) -> None:
    sim = simulate_set(PROFILE, knee(mode=mode, group=group, repetitions=3), seed=0)
    reps = sim.truth.reps
    assert len(reps) == 6
    assert [r.index for r in reps] == list(range(6))
    assert [r.movement for r in reps] == moves * 3
    assert [r.group for r in reps] == groups * 3
    assert [r.contraction for r in reps] == contractions * 3
    assert all(a.end_s <= b.start_s for a, b in zip(reps, reps[1:]))
    for rep in reps:  # the lever really moves that way
        mid = sim.servo_velocity_dps[load_range(sim, rep)]
        assert np.all(np.sign(mid) == (1 if rep.movement == "flexion" else -1))


def test_set_starts_at_rest_at_the_range_end_opposite_the_first_movement() -> None:
    sim = simulate_set(PROFILE, knee(rest_before_s=0.5), seed=0, noise=False)
    before = sim.time_s < 0.5
    assert np.all(sim.position_deg[before] == 90.0)  # extension first, from full flexion
    assert np.all(sim.velocity_dps[before] == 0.0) and np.all(sim.muscle_torque_nm[before] == 0.0)
    assert sim.truth.reps[0].start_s == pytest.approx(0.5)


def test_gravity_adds_w_cos_position_minus_horizontal() -> None:
    sim = simulate_set(PROFILE, knee(), seed=1, noise=False, artifacts=False)
    limb = PROFILE.pattern("knee", "flexion/extension")
    assert sim.truth.gravity_torque_nm == limb.gravity_torque_nm > 0
    expected = sim.muscle_torque_nm + limb.gravity_torque_nm * np.cos(np.deg2rad(sim.position_deg - limb.horizontal_angle_deg))
    np.testing.assert_allclose(sim.torque_nm, expected, atol=1e-9)
    without = simulate_set(PROFILE, knee(), seed=1, noise=False, artifacts=False, gravity=False)
    assert without.truth.gravity_torque_nm == 0.0
    np.testing.assert_allclose(without.torque_nm, without.muscle_torque_nm, atol=1e-9)


def test_noise_has_the_machine_standard_deviations() -> None:
    machine = MachineSettings(torque_noise_nm=0.5, velocity_noise_dps=0.3, position_noise_deg=0.05)
    sim = simulate_set(PROFILE, knee(), seed=3, gravity=False, machine=machine)
    assert np.std(sim.torque_nm - sim.muscle_torque_nm - sim.artifact_torque_nm) == pytest.approx(0.5, rel=0.05)
    assert np.std(sim.velocity_dps - sim.servo_velocity_dps) == pytest.approx(0.3, rel=0.05)
    assert np.std(sim.position_deg - sim.servo_position_deg) == pytest.approx(0.05, rel=0.05)
    quiet = simulate_set(PROFILE, knee(), seed=3, noise=False)
    np.testing.assert_array_equal(quiet.velocity_dps, quiet.servo_velocity_dps)


def test_same_seed_same_set_other_seed_other_set() -> None:
    a = simulate_set(PROFILE, knee(), seed=7)
    b = simulate_set(PROFILE, knee(), seed=7)
    c = simulate_set(PROFILE, knee(), seed=8)
    for name in ("time_s", "torque_nm", "position_deg", "velocity_dps", "status"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert a.truth == b.truth
    assert not np.array_equal(a.torque_nm, c.torque_nm)
    assert [r.peak_torque_nm for r in a.truth.reps] != [r.peak_torque_nm for r in c.truth.reps]


def test_servo_holds_the_set_velocity_in_the_load_range_after_an_overshoot() -> None:
    sim = simulate_set(PROFILE, knee(velocity_dps=(180.0, 240.0)), seed=0, noise=False)
    for rep in sim.truth.reps:
        sign = 1 if rep.movement == "flexion" else -1
        assert rep.velocity_dps == (180.0 if sign > 0 else 240.0)
        v = sim.servo_velocity_dps
        m = load_range(sim, rep)
        np.testing.assert_allclose(v[m], sign * rep.velocity_dps, atol=1e-6)
        during = (sim.time_s >= rep.start_s) & (sim.time_s <= rep.end_s)
        assert (sign * v[during]).max() > rep.velocity_dps * 1.03  # overshoot before the load range
        reached = sim.servo_position_deg[during].max() if sign > 0 else sim.servo_position_deg[during].min()
        assert reached == pytest.approx(90.0 if sign > 0 else 0.0, abs=0.01)


def test_impact_artifact_is_a_spike_toward_the_movement_that_grows_with_velocity() -> None:
    peaks = []
    for v in (60.0, 180.0, 300.0):
        sim = simulate_set(PROFILE, knee(velocity_dps=v), seed=0, noise=False)
        rep = sim.truth.reps[1]  # flexion, toward +
        during = (sim.time_s >= rep.start_s) & (sim.time_s < rep.load_range_start_s)
        assert np.all(sim.artifact_torque_nm[load_range(sim, rep)] == 0.0)
        peaks.append(sim.artifact_torque_nm[during].max())
    assert 0 < peaks[0] < peaks[1] < peaks[2]
    assert peaks[2] > 5.0
    off = simulate_set(PROFILE, knee(velocity_dps=300.0), seed=0, artifacts=False)
    assert np.all(off.artifact_torque_nm == 0.0)


def test_status_marks_range_limits_and_nothing_else() -> None:
    sim = simulate_set(PROFILE, knee(pause_s=0.2), seed=0)
    at_limit = (sim.status & STATUS_AT_LIMIT) > 0
    assert at_limit[0] and at_limit[-1]
    for rep in sim.truth.reps:
        assert not at_limit[load_range(sim, rep)].any()
        pause = (sim.time_s >= rep.end_s) & (sim.time_s < rep.end_s + 0.2)
        assert at_limit[pause].all()
    assert not (sim.status & STATUS_SAFETY_STOP).any()
    assert set(np.unique(sim.status)) <= {0, 1}
    no_pause = simulate_set(PROFILE, knee(), seed=0)
    rising = np.flatnonzero(np.diff(((no_pause.status & STATUS_AT_LIMIT) > 0).astype(int)) == 1)
    assert len(rising) == len(no_pause.truth.reps)  # every arrival at a limit is flagged, even without a pause


def test_safety_stop_halts_the_lever_and_sets_bit1() -> None:
    sim = simulate_set(PROFILE, knee(mode="ecc/ecc", velocity_dps=30.0), seed=1, machine=MachineSettings(torque_limit_nm=300.0))
    stop = (sim.status & STATUS_SAFETY_STOP) > 0
    first = int(np.argmax(stop))
    assert stop[first:].all() and not stop[:first].any()
    assert abs(sim.torque_nm[first]) > 300.0
    assert sim.servo_velocity_dps[-1] == 0.0
    assert all(rep.end_s <= sim.time_s[first] for rep in sim.truth.reps)
    assert len(sim.truth.reps) < 10
    assert abs(sim.muscle_torque_nm[-1]) < 1.0  # the subject relaxed


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"joint": "neck", "side": "left"}, "unknown joint"),
        ({"joint": "knee", "pattern": "abduction/adduction", "side": "left"}, "unknown pattern"),
        ({"joint": "knee", "side": "middle"}, "side"),
        ({"joint": "knee", "side": "left", "mode": "iso"}, "mode"),
        ({"joint": "knee", "side": "left", "velocity_dps": -60.0}, "velocity_dps"),
        ({"joint": "knee", "side": "left", "repetitions": 0}, "repetitions"),
        ({"joint": "knee", "side": "left", "rom_deg": (90.0, 0.0)}, "rom_deg"),
        ({"joint": "knee", "side": "left", "mode": "con/ecc"}, "needs group"),
        ({"joint": "knee", "side": "left", "group": "flexion"}, "only used by"),
        ({"joint": "knee", "side": "left", "mode": "con/ecc", "group": "abduction"}, "not part of"),
        ({"joint": "knee", "side": "left", "pause_s": -1.0}, "pause_s"),
    ],
)
def test_bad_protocols_are_refused_clearly(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SetProtocol(**kwargs)


def test_protocol_defaults_resolve_pattern_and_range() -> None:
    proto = SetProtocol(joint="shoulder", side="left")
    assert proto.pattern == "external/internal rotation"
    assert knee().rom_deg == (0.0, 90.0)
    assert knee(rom_deg=(10, 80)).rom_deg == (10.0, 80.0)


def test_unreachable_velocity_is_refused_with_the_distances() -> None:
    with pytest.raises(ValueError, match="cannot be held over a 20 deg range"):
        simulate_set(PROFILE, knee(velocity_dps=500.0, rom_deg=(30.0, 50.0)))


def test_sample_rate_sets_the_time_base() -> None:
    sim = simulate_set(PROFILE, knee(repetitions=1), sample_rate_hz=100.0, seed=0)
    np.testing.assert_allclose(np.diff(sim.time_s), 0.01)
    assert sim.time_s[0] == 0.0 and sim.time_s[-1] >= sim.truth.reps[-1].end_s
    assert sim.torque_nm.dtype == np.float64 and sim.status.dtype == np.uint8
