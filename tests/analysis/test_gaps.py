"""Recordings with lost samples: no movement, load range or repetition crosses a gap (review finding 1)."""

import numpy as np
import pytest

from analysis import analyze_recording, compare, find_gaps, find_movements, lowpass

model = pytest.importorskip("simulators.model")


def _simulated():
    proto = model.SetProtocol(joint="knee", pattern="flexion/extension", side="left", mode="con/con",
                              velocity_dps=60.0, repetitions=4)
    return model.simulate_set(model.default_profile(), proto, sample_rate_hz=1000.0, seed=2)


def _cut(sim, k):
    """The set with the middle 40 % of movement ``k`` (truth order) removed, and that movement's truth."""
    rep = sim.truth.reps[k]
    a = rep.start_s + 0.3 * (rep.end_s - rep.start_s)
    b = rep.start_s + 0.7 * (rep.end_s - rep.start_s)
    keep = (sim.time_s < a) | (sim.time_s > b)
    return keep, rep


def _analyse(sim, keep, **kw):
    tr = sim.truth
    return analyze_recording(sim.time_s[keep], sim.torque_nm[keep], sim.position_deg[keep], sim.velocity_dps[keep],
                             joint="knee", side="left", gravity_torque_nm=tr.gravity_torque_nm,
                             horizontal_angle_deg=tr.horizontal_angle_deg, source="cut.csv", **kw)


def test_a_movement_cut_by_a_gap_is_dropped_not_merged_and_a_warning_says_where():
    sim = _simulated()
    keep, cut = _cut(sim, 3)
    result = _analyse(sim, keep)
    assert len(result.gaps) == 1
    gap = result.gaps[0]
    assert gap.after_s == pytest.approx(cut.start_s + 0.3 * (cut.end_s - cut.start_s), abs=0.002)
    assert gap.duration_s == pytest.approx(0.4 * (cut.end_s - cut.start_s), abs=0.003)
    assert gap.samples_lost == int(np.sum(~keep))

    reps = [(s.metrics.direction, r) for s in result.sets for r in s.metrics.reps]
    truth = [t for i, t in enumerate(sim.truth.reps) if i != 3]
    assert len(reps) == len(truth) == len(sim.truth.reps) - 1
    for t in truth:  # every untouched repetition found, with its true peak
        (direction, r), = [(d, r) for d, r in reps if abs(r.start_s - t.start_s) < 0.1]
        assert direction == t.group
        assert r.peak_torque_nm == pytest.approx(t.peak_torque_nm, rel=0.02)
    for _, r in reps:  # nothing spans the gap, neither a repetition nor a load range
        assert r.end_s <= gap.after_s or r.start_s > gap.after_s
        assert r.load_range_end_s <= gap.after_s or r.load_range_start_s > gap.after_s

    flags = [f for f in compare([result]).flags if f.rule == "recording_gap"]
    assert len(flags) == 1 and flags[0].severity == "warning"
    assert flags[0].values["samples_lost"] == gap.samples_lost
    assert f"after {gap.after_s:.3f} s" in flags[0].message
    assert result.to_dict()["gaps"][0]["samples_lost"] == gap.samples_lost


def test_gaps_from_the_sample_index_are_exactly_where_it_does_not_step_by_one():
    t = np.arange(100) / 100.0
    index = np.arange(100, dtype=np.int64)
    assert find_gaps(t, sample_index=index) == []
    jumped = index.copy()
    jumped[40:] += 20  # 20 samples lost, though the time steps do not show it
    (g,) = find_gaps(t, sample_index=jumped)
    assert (g.index, g.after_s, g.samples_lost) == (40, pytest.approx(0.39), 20)
    assert g.reason == "sample index jumps from 39 to 60"
    repeated = np.concatenate([index[:50], index[49:99]])
    (r,) = find_gaps(t, sample_index=repeated)
    assert (r.index, r.samples_lost, r.reason) == (50, 0, "sample index 49 repeated")
    restarted = np.concatenate([index[:70], index[:30]])
    (s,) = find_gaps(t, sample_index=restarted)
    assert (s.index, s.samples_lost, s.reason) == (70, 0, "sample index restarts at 0 after 69")
    # without an index, the time steps are the only clue
    t2 = np.concatenate([t[:40], t[60:]])
    (g2,) = find_gaps(t2)
    assert (g2.index, g2.samples_lost) == (40, 20)
    assert "no sample index" in g2.reason


def _jittered(sim):
    """The set's sample times as a host maps them: off by up to 0.7 ms, never backward (steps of 0.4-1.6 ms)."""
    k = np.arange(len(sim.time_s))
    return sim.time_s + 0.7e-3 * np.sin(2 * np.pi * k / 7.3 + 0.4)


def test_host_time_jitter_with_a_contiguous_index_makes_no_gap_and_loses_no_repetition():
    sim = _simulated()
    t = _jittered(sim)
    steps = np.diff(t)
    assert steps.max() > 1.5e-3 and steps.min() > 0  # the time-step rule alone would see dozens of gaps
    assert len(find_gaps(t)) > 20
    tr = sim.truth
    result = analyze_recording(t, sim.torque_nm, sim.position_deg, sim.velocity_dps, joint="knee", side="left",
                               gravity_torque_nm=tr.gravity_torque_nm, horizontal_angle_deg=tr.horizontal_angle_deg,
                               sample_index=np.arange(len(t), dtype=np.int64))
    assert result.gaps == ()
    reps = sorted((r for s in result.sets for r in s.metrics.reps), key=lambda r: r.start_s)
    assert len(reps) == len(tr.reps)
    for r, truth in zip(reps, tr.reps):
        assert r.peak_torque_nm == pytest.approx(truth.peak_torque_nm, rel=0.02)
    assert not [f for f in compare([result]).flags if f.rule == "recording_gap"]


def test_a_jump_in_the_index_makes_exactly_that_gap_and_drops_only_the_movements_it_cut():
    sim = _simulated()
    keep, cut = _cut(sim, 3)
    index = np.flatnonzero(keep).astype(np.int64)
    t = _jittered(sim)[keep]
    tr = sim.truth
    result = analyze_recording(t, sim.torque_nm[keep], sim.position_deg[keep], sim.velocity_dps[keep], joint="knee",
                               side="left", gravity_torque_nm=tr.gravity_torque_nm,
                               horizontal_angle_deg=tr.horizontal_angle_deg, sample_index=index)
    (gap,) = result.gaps
    assert gap.samples_lost == int(np.sum(~keep))
    assert gap.after_s == pytest.approx(cut.start_s + 0.3 * (cut.end_s - cut.start_s), abs=0.002)
    reps = sorted((r for s in result.sets for r in s.metrics.reps), key=lambda r: r.start_s)
    kept = [t for i, t in enumerate(tr.reps) if i != 3]
    assert len(reps) == len(kept)
    for r, truth in zip(reps, kept):
        assert r.start_s == pytest.approx(truth.start_s, abs=0.1)
    (flag,) = [f for f in compare([result]).flags if f.rule == "recording_gap"]
    assert f"{gap.samples_lost} sample(s) lost" in flag.message and "sample index jumps" in flag.message


def test_find_movements_drops_the_movements_at_a_gaps_edges():
    sim = _simulated()
    keep, cut = _cut(sim, 3)
    t, pos = sim.time_s[keep], sim.position_deg[keep]
    vel = lowpass(sim.velocity_dps[keep], 1000.0, cutoff_hz=20.0)
    found = find_movements(t, pos, vel)
    assert len(found) == len(sim.truth.reps) - 1
    assert not any(t[m.start] < cut.end_s and t[m.stop - 1] > cut.start_s for m in found)
