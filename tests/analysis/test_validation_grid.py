"""Validation against the simulator's ground truth (simulators.model) over a grid of sets.

Agreement required: repetition counts exact, group and contraction right, windowed peak
torque within 2 %, angle of peak within 3 deg (or, where the torque-angle curve is flat,
at a sample whose true torque is within 1 % of the true peak: the angle of a flat peak is
not defined better than that), conventional ratios within 0.02, bilateral deficit within 2
percentage points. Default analysis options throughout.
"""

from __future__ import annotations

import numpy as np
import pytest

from analysis import analyze_recording, compare, deficit_percent

model = pytest.importorskip("simulators.model")
from simulators.joints import JOINT_PATTERNS, PATTERN_DIRECTIONS  # noqa: E402

PROFILE = model.default_profile()


def _simulate(joint, pattern, mode, velocity_dps, fs, *, side="left", group=None, seed=1, effects=True):
    proto = model.SetProtocol(joint=joint, pattern=pattern, side=side, mode=mode, velocity_dps=velocity_dps,
                              repetitions=3, group=group)
    return model.simulate_set(PROFILE, proto, sample_rate_hz=fs, seed=seed, noise=effects, artifacts=effects,
                              gravity=effects)


def _analyse(sim, side="left"):
    tr = sim.truth
    return analyze_recording(sim.time_s, sim.torque_nm, sim.position_deg, sim.velocity_dps, joint=tr.joint,
                             pattern=tr.pattern, side=side, gravity_torque_nm=tr.gravity_torque_nm,
                             horizontal_angle_deg=tr.horizontal_angle_deg, body_mass_kg=tr.body_mass_kg)


def _check_reps(sim, analysis):
    reps = sorted(((r, s.metrics) for s in analysis.sets for r in s.metrics.reps), key=lambda x: x[0].start_s)
    truth = sim.truth.reps
    assert len(reps) == len(truth)
    muscle = sim.muscle_torque_nm
    for (rep, m), t in zip(reps, truth):
        assert (m.direction, m.contraction) == (t.group, t.contraction)
        assert rep.peak_torque_nm == pytest.approx(t.peak_torque_nm, rel=0.02)
        if abs(rep.angle_at_peak_deg - t.angle_at_peak_deg) > 3.0:
            k = int(np.searchsorted(sim.time_s, rep.start_s + rep.time_to_peak_s - 1e-9))
            assert abs(muscle[k]) >= 0.99 * t.peak_torque_nm, (rep.angle_at_peak_deg, t.angle_at_peak_deg)


JOINT_CASES = [(j, p) for j, patterns in JOINT_PATTERNS.items() for p in patterns]

#: Known disagreements, kept visible: strict xfail fails the suite the day they pass.
#: Small torques (wrist, 5-10 N.m) leave noise-biased peaks; con/ecc turnarounds at 180 deg/s
#: put the hip's true peak on the load range's first samples; at 500 deg/s the impact
#: artifact still lingers when the servo is back within 0.2 % of the velocity.
KNOWN = {
    ("wrist", "con/con", 180.0): "wrist peak 8.6 vs 8.7 N.m, flat curve, angle off by 6 deg",
    ("wrist", "con/ecc", 180.0): "wrist peak 5.36 vs 5.24 N.m (+2.4 %)",
    ("hip", "con/ecc", 180.0): "hip peak on the first load-range samples after the turnaround",
    ("knee", "con/con", 500.0): "impact artifact residue: peak about 5 % high",
}


def _known(*key: object) -> list[pytest.MarkDecorator]:
    reason = KNOWN.get(key)  # type: ignore[arg-type]
    return [pytest.mark.xfail(strict=True, reason=reason)] if reason else []


@pytest.mark.parametrize(
    ("joint", "pattern", "mode", "velocity_dps"),
    [
        pytest.param(j, p, m, v, marks=_known(j, m, v))
        for j, p in JOINT_CASES
        for m in ("con/con", "ecc/ecc", "con/ecc")
        for v in (60.0, 180.0)
    ],
)
def test_every_joint_and_mode_against_the_truth(joint, pattern, mode, velocity_dps):
    group = PATTERN_DIRECTIONS[pattern][1] if mode == "con/ecc" else None
    sim = _simulate(joint, pattern, mode, velocity_dps, 1000.0, group=group)
    _check_reps(sim, _analyse(sim))


@pytest.mark.parametrize(
    ("velocity_dps", "fs", "effects"),
    [
        pytest.param(v, fs, e, marks=_known("knee", "con/con", v) if e else [], id=f"{v:g}dps-{fs:g}Hz-{'effects' if e else 'clean'}")
        for v in (30.0, 60.0, 120.0, 180.0, 300.0, 500.0)
        for fs in (1000.0, 2000.0)
        for e in (True, False)
    ],
)
def test_knee_velocities_from_30_to_500(velocity_dps, fs, effects):
    sim = _simulate("knee", "flexion/extension", "con/con", velocity_dps, fs, effects=effects)
    _check_reps(sim, _analyse(sim))


@pytest.mark.parametrize("fs", [100.0, 200.0, 500.0, 1000.0, 2000.0])
@pytest.mark.parametrize("mode", ["con/con", "ecc/ecc"])
def test_knee_sample_rates_from_100_to_2000(fs, mode):
    sim = _simulate("knee", "flexion/extension", mode, 60.0, fs)
    _check_reps(sim, _analyse(sim))


@pytest.mark.parametrize(
    ("joint", "pattern", "velocity_dps"),
    [
        pytest.param(j, p, v, marks=[pytest.mark.xfail(strict=True, reason="wrist flexors 5 N.m: ratio off by 0.024")]
                     if (j, v) == ("wrist", 60.0) else [])
        for j, p in JOINT_CASES
        for v in (60.0, 180.0)
    ],
)
def test_conventional_ratios_and_bilateral_deficits(joint, pattern, velocity_dps):
    sims = {side: _simulate(joint, pattern, "con/con", velocity_dps, 1000.0, side=side, seed=3) for side in ("left", "right")}
    analyses = [_analyse(sims[side], side) for side in ("left", "right")]
    comparison = compare(analyses)
    best = {side: {} for side in sims}
    for side, sim in sims.items():
        for t in sim.truth.reps:
            best[side][t.group] = max(best[side].get(t.group, 0.0), t.peak_torque_nm)
    conventional = [r for r in comparison.ratios if r.kind == "conventional"]
    assert len(conventional) == 2
    for r in conventional:
        truth = best[r.numerator.side][r.numerator.direction] / best[r.numerator.side][r.denominator.direction]
        assert r.value == pytest.approx(truth, abs=0.02)
    assert len(comparison.bilateral) == 2
    for b in comparison.bilateral:
        left, right = best["left"][b.direction], best["right"][b.direction]
        truth = deficit_percent(min(left, right), max(left, right))
        assert b.deficit_percent == pytest.approx(truth, abs=2.0)
