"""The physiological model: torque-angle, torque-velocity, activation, fatigue, variability."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

from simulators.model import SetProtocol, SimulatedSet, default_profile, simulate_set
from simulators.physiology import activation, torque_angle_factor, torque_velocity_factor

PROFILE = default_profile()
STEADY: dict[str, Any] = {"noise": False, "fatigue": False, "variability": False}


def peaks(sim: SimulatedSet, group: str) -> list[float]:
    return [r.peak_torque_nm for r in sim.truth.reps if r.group == group]


def knee_set(velocity_dps: float, *, mode: str = "con/con", side: str = "right", **options: Any) -> SimulatedSet:
    proto = SetProtocol(joint="knee", side=side, mode=mode, velocity_dps=velocity_dps, repetitions=2)
    return simulate_set(PROFILE, proto, seed=1, **(STEADY | options))


def test_torque_angle_bell_peaks_at_the_optimal_angle() -> None:
    angles = np.linspace(-30, 120, 1501)
    f = torque_angle_factor(angles, optimal_angle_deg=65.0, width_deg=40.0)
    assert angles[np.argmax(f)] == pytest.approx(65.0) and f.max() == pytest.approx(1.0)
    assert np.all(np.diff(f[angles < 65]) > 0) and np.all(np.diff(f[angles > 65]) < 0)


def test_torque_velocity_concentric_falls_eccentric_plateaus_above_isometric() -> None:
    u = np.array([0.0, 60.0, 180.0, 300.0, 500.0, 1300.0])
    con = torque_velocity_factor(u, max_velocity_dps=1200.0, curvature=0.35, eccentric_ratio=1.3)
    assert con[0] == 1.0 and np.all(np.diff(con) < 0) and con[-1] == 0.0
    ecc = torque_velocity_factor(-u[1:5], max_velocity_dps=1200.0, curvature=0.35, eccentric_ratio=1.3)
    assert np.all(ecc > 1.2) and np.all(ecc <= 1.3) and np.ptp(ecc) < 0.06


def test_activation_rises_and_decays_with_its_time_constants() -> None:
    t = np.array([0.0, 0.1, 0.14, 0.5, 0.53, 2.0])
    a = activation(t, [0.1, 0.5], [1.0, 0.0], rise_time_s=0.04, decay_time_s=0.03)
    assert a[0] == 0.0 and a[1] == 0.0
    assert a[2] == pytest.approx(1 - np.exp(-1))
    assert a[4] == pytest.approx(a[3] * np.exp(-1))
    assert a[5] < 1e-12


def test_concentric_knee_peaks_fall_monotonically_with_velocity() -> None:
    velocities = (30.0, 60.0, 120.0, 180.0, 240.0, 300.0, 400.0)
    sims = [knee_set(v) for v in velocities]
    for group in ("extension", "flexion"):
        series = [max(peaks(s, group)) for s in sims]
        assert all(a > b for a, b in zip(series, series[1:])), (group, series)


def test_eccentric_exceeds_concentric_and_isometric_and_stays_flat() -> None:
    for group in ("extension", "flexion"):
        muscle = PROFILE.group("knee", "flexion/extension", "right", group)
        iso = muscle.isometric_torque_nm(PROFILE.reference_velocity_dps)
        ecc = [max(peaks(knee_set(v, mode="ecc/ecc"), group)) for v in (60.0, 180.0, 300.0)]
        con = [max(peaks(knee_set(v), group)) for v in (60.0, 180.0, 300.0)]
        assert all(e > c for e, c in zip(ecc, con))
        assert min(ecc) > 1.1 * iso
        assert max(ecc) / min(ecc) < 1.05


def test_peak_angle_is_near_the_profiles_at_low_velocity() -> None:
    sim = knee_set(60.0)
    for rep in sim.truth.reps:
        optimal = PROFILE.group("knee", "flexion/extension", "right", rep.group).optimal_angle_deg
        assert rep.angle_at_peak_deg == pytest.approx(optimal, abs=3.0)


def test_activation_delay_makes_the_onset_torque_low() -> None:
    sim = knee_set(60.0)
    rep = sim.truth.reps[0]
    t10 = np.searchsorted(sim.time_s, rep.start_s + 0.01)
    assert abs(sim.muscle_torque_nm[t10]) < 0.3 * rep.peak_torque_nm
    slow = dataclasses.replace(PROFILE, activation_time_s=0.15)
    sim_slow = simulate_set(slow, sim.protocol, seed=1, **STEADY)
    assert sim_slow.truth.reps[0].time_to_peak_s > rep.time_to_peak_s


def test_fatigue_reduces_later_repetitions() -> None:
    proto = SetProtocol(joint="knee", side="right", velocity_dps=180.0, repetitions=25)
    sim = simulate_set(PROFILE, proto, seed=4, noise=False)
    work = np.array([r.work_j for r in sim.truth.reps if r.group == "extension"])
    fatigue_pct = 100 * (work[:8].mean() - work[-8:].mean()) / work[:8].mean()
    assert 20.0 < fatigue_pct < 45.0
    pt = np.array(peaks(sim, "extension"))
    assert pt[-5:].mean() / pt[:5].mean() < 0.8
    fresh = simulate_set(PROFILE, proto, seed=4, noise=False, fatigue=False, variability=False)
    assert np.ptp(peaks(fresh, "extension")) < 0.005 * max(peaks(fresh, "extension"))


def test_rep_to_rep_variability_has_the_profiles_cv() -> None:
    proto = SetProtocol(joint="elbow", side="left", velocity_dps=180.0, repetitions=40)
    sim = simulate_set(PROFILE, proto, seed=5, noise=False, fatigue=False)
    pt = np.array(peaks(sim, "flexion"))
    assert np.std(pt) / np.mean(pt) == pytest.approx(PROFILE.variability_cv, rel=0.4)
