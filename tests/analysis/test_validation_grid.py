"""Validation against the simulator's ground truth (simulators.model) over a grid of sets.

Agreement asserted (issue 3), with the default analysis options throughout:

- repetition counts exact, and each repetition's muscle group and contraction right;
- windowed peak torque within 2 % of the true one (the muscle torque's largest value in
  the simulator's load range, without noise, gravity or impact artifact);
- angle of peak within 3 deg wherever the noise and the analysis's filter make that
  measurable; elsewhere (curves flatter than the noise, or a peak the filter's ringing
  moves) the reported angle must be the filtered curve's peak to within the noise, and
  those errors are reported apart (see :func:`_check_angle`, which gives the numbers);
- conventional and eccentric ratios within 0.02, bilateral deficits within 2 percentage points.

The grid covers every joint and pattern of DOMAIN.md's table in con/con, ecc/ecc and
con/ecc at 30 to 300 deg/s; the knee from 30 to 500 deg/s at 1 and 2 kHz in every mode;
sample rates from 100 Hz to 2 kHz; noise, impact artifacts and gravity each on and off.
The worst error of each criterion is printed at the end of the run (``worst`` fixture in
``conftest.py``).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from analysis import analyze_recording, compare, deficit_percent, lowpass
from analysis.conditioning import lowpass_segments

model = pytest.importorskip("simulators.model")
from simulators.joints import JOINT_PATTERNS, PATTERN_DIRECTIONS  # noqa: E402
from simulators.machine import SERVO_MODELS  # noqa: E402

PROFILE = model.default_profile()
JOINT_CASES = [(j, p) for j, patterns in JOINT_PATTERNS.items() for p in patterns]
MODES = ("con/con", "ecc/ecc", "con/ecc")


def _simulate(joint, pattern, mode, velocity_dps, fs, *, side="left", seed=1, noise=True, artifacts=True, gravity=True,
              servo="ideal"):
    group = PATTERN_DIRECTIONS[pattern][1] if mode == "con/ecc" else None
    proto = model.SetProtocol(joint=joint, pattern=pattern, side=side, mode=mode, velocity_dps=velocity_dps,
                              repetitions=3, group=group)
    return model.simulate_set(PROFILE, proto, sample_rate_hz=fs, seed=seed, noise=noise, artifacts=artifacts,
                              gravity=gravity, machine=SERVO_MODELS[servo])


def _analyse(sim, side="left"):
    tr = sim.truth
    return analyze_recording(sim.time_s, sim.torque_nm, sim.position_deg, sim.velocity_dps, joint=tr.joint,
                             pattern=tr.pattern, side=side, gravity_torque_nm=tr.gravity_torque_nm,
                             horizontal_angle_deg=tr.horizontal_angle_deg, body_mass_kg=tr.body_mass_kg)


def _check_angle(sim, rep, truth, cutoff_hz, case, worst):
    """Angle of peak: within 3 deg wherever the recording and the analysis's filter make that measurable.

    Per repetition, from the simulator's components over the analysis's load range:

    - ``sd``: SD of the noise left by the analysis's low-pass (the simulator's noise, and the
      inertial artifacts left in the load range of a ringing servo's speed ripple, run
      through the same filter); two samples' noise differ by more than ``3 sqrt(2) sd``
      less than once in 300;
    - ``filtered``: the noise-free muscle torque run through the same filter: where the
      analysis would put the peak without noise.

    The peak is *measurable to 3 deg* when the true torque 3 deg or more from the true peak
    is lower by more than ``3 sqrt(2) sd``, and the filtered noise-free curve peaks within
    3 deg of the true peak; then the reported angle must be within 3 deg. Otherwise it must
    be where the filtered noise-free curve is within ``3 sqrt(2) sd`` of its maximum (the
    analysis found the peak its filter defines, to within the noise), and the error is
    recorded apart, as

    - *flat* (noise-limited): the curve is flatter than the noise over 3 deg, e.g. the
      wrist's 7 N.m extensors, 45 deg wide, lose 0.03 N.m 3 deg from their peak while the
      noise left at 6 Hz is 0.04 N.m;
    - *filter-limited*: the Butterworth filter rings by about 1 % of the relaxation drop at
      the end of eccentric load ranges and, where the true peak is flat and a few degrees
      from the drop, its filtered maximum moves toward it (ankle plantarflexors ecc/ecc at
      180 deg/s: 5.8 deg, where the true torque is 1.1 % below the peak; hip adductors
      con/ecc at 180 deg/s: 6.6 deg, 0.9 % below). A filter without
      overshoot (first-order or critically damped) removes this but flattens the peaks of
      short load ranges by up to 2.6 % (ankle, 300 deg/s), so the analysis keeps the
      Butterworth filter of DOMAIN.md section 3 and the suite reports these cases.
    """
    fs = sim.sample_rate_hz
    sign = 1 if truth.group == PATTERN_DIRECTIONS[sim.truth.pattern][0] else -1
    t = sim.time_s
    lo, hi = np.searchsorted(t, [truth.load_range_start_s - 1e-9, truth.load_range_end_s + 1e-9])
    true = sign * sim.muscle_torque_nm[lo:hi]
    k_true = int(np.argmax(true))
    away = np.abs(sim.servo_position_deg[lo:hi] - sim.servo_position_deg[lo + k_true]) >= 3.0
    drop_nm = float(true[k_true] - np.max(true[away])) if away.any() else np.inf
    a, b = np.searchsorted(t, [rep.load_range_start_s - 1e-9, rep.load_range_end_s + 1e-9])
    grav = sim.truth.gravity_torque_nm * np.cos(np.radians(sim.servo_position_deg[a:b] - sim.truth.horizontal_angle_deg))
    # what the analysis cannot tell from the muscle's torque: the sensor's noise, and what is left in the load range of
    # the lever's inertial artifacts (a ringing servo's speed ripple and the tail of its ringing)
    noise = sim.torque_nm[a:b] - sim.muscle_torque_nm[a:b] - grav
    filtered = sign * sim.muscle_torque_nm[a:b]
    if cutoff_hz is not None:  # as the analysis filters a load range (left raw when too short to be filtered)
        noise, filtered = lowpass_segments(np.vstack([noise, filtered]).ravel(), [(0, b - a), (b - a, 2 * (b - a))], fs,
                                           cutoff_hz=cutoff_hz)
    margin = 3.0 * np.sqrt(2.0) * float(np.std(noise)) + 1e-9 * float(true[k_true])
    resolved = abs(sim.servo_position_deg[a + int(np.argmax(filtered))] - truth.angle_at_peak_deg) <= 3.0
    error_deg = abs(rep.angle_at_peak_deg - truth.angle_at_peak_deg)
    if resolved and drop_nm > margin:
        worst.record("angle of peak, measurable (deg)", error_deg, case)
        assert error_deg <= 3.0, (rep.angle_at_peak_deg, truth.angle_at_peak_deg, drop_nm, margin)
        return
    worst.record(f"angle of peak, {'flat' if resolved else 'filter-limited'} (deg)", error_deg, case)
    k = int(np.searchsorted(t, rep.start_s + rep.time_to_peak_s - 1e-9)) - a
    assert float(np.max(filtered)) - float(filtered[k]) <= margin, (rep.angle_at_peak_deg, truth.angle_at_peak_deg)


def _check_reps(sim, analysis, case, worst):
    found = sorted(((r, s.metrics) for s in analysis.sets for r in s.metrics.reps), key=lambda x: x[0].start_s)
    truth = sim.truth.reps
    worst.record("repetition count (difference)", abs(len(found) - len(truth)), case)
    assert len(found) == len(truth)
    for (rep, metrics), t in zip(found, truth):
        assert (metrics.direction, metrics.contraction) == (t.group, t.contraction)
        if np.isnan(t.peak_torque_nm):  # the servo's transients outlast the range: no load range, no windowed peak
            worst.record("no load range (truth and analysis agree)", float(rep.peak_torque_nm is not None), case)
            assert rep.peak_torque_nm is None
            continue
        if rep.peak_torque_nm is None:  # honestly not measurable: null with the reason, never a silent gap
            assert rep.no_load_range_reason, rep
            assert rep.angle_at_peak_deg is None and rep.load_range_start_s is None
            worst.record("windowed peak not measurable (repetitions)", 1.0, f"{case} rep {t.index + 1}: {rep.no_load_range_reason}")
            continue
        error = 100.0 * (rep.peak_torque_nm - t.peak_torque_nm) / t.peak_torque_nm
        worst.record("peak torque (%)", error, f"{case} rep {t.index + 1}")
        assert abs(error) <= 2.0, (rep.peak_torque_nm, t.peak_torque_nm)
        _check_angle(sim, rep, t, metrics.cutoff_hz, f"{case} rep {t.index + 1}", worst)


def _case_id(joint, pattern, mode, velocity_dps, fs, extra=""):
    return f"{joint} {pattern} {mode} {velocity_dps:g} deg/s {fs:g} Hz{extra}"


@pytest.mark.parametrize(("joint", "pattern"), JOINT_CASES)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("velocity_dps", [30.0, 60.0, 180.0, 300.0])
def test_every_joint_and_mode_against_the_truth(joint, pattern, mode, velocity_dps, worst):
    sim = _simulate(joint, pattern, mode, velocity_dps, 1000.0)
    _check_reps(sim, _analyse(sim), _case_id(joint, pattern, mode, velocity_dps, 1000.0), worst)


@pytest.mark.parametrize("fs", [1000.0, 2000.0])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("velocity_dps", [30.0, 60.0, 120.0, 180.0, 300.0, 500.0])
def test_knee_from_30_to_500_dps(velocity_dps, mode, fs, worst):
    sim = _simulate("knee", "flexion/extension", mode, velocity_dps, fs)
    _check_reps(sim, _analyse(sim), _case_id("knee", "flexion/extension", mode, velocity_dps, fs), worst)


@pytest.mark.parametrize("fs", [100.0, 200.0, 500.0, 1000.0, 2000.0])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("velocity_dps", [60.0, 180.0])
def test_knee_sample_rates_from_100_to_2000_hz(fs, mode, velocity_dps, worst):
    sim = _simulate("knee", "flexion/extension", mode, velocity_dps, fs)
    _check_reps(sim, _analyse(sim), _case_id("knee", "flexion/extension", mode, velocity_dps, fs), worst)


@pytest.mark.parametrize(("noise", "artifacts", "gravity"), list(itertools.product([False, True], repeat=3)))
@pytest.mark.parametrize(("joint", "pattern", "velocity_dps"),
                         [("knee", "flexion/extension", 500.0), ("hip", "flexion/extension", 180.0)])
def test_noise_artifacts_and_gravity_on_and_off(joint, pattern, velocity_dps, noise, artifacts, gravity, worst):
    sim = _simulate(joint, pattern, "con/con", velocity_dps, 1000.0, noise=noise, artifacts=artifacts, gravity=gravity)
    effects = f" noise={noise} artifacts={artifacts} gravity={gravity}"
    _check_reps(sim, _analyse(sim), _case_id(joint, pattern, "con/con", velocity_dps, 1000.0, effects), worst)


def _best_true_peaks(sim) -> dict[str, float]:
    best: dict[str, float] = {}
    for t in sim.truth.reps:
        best[t.group] = max(best.get(t.group, 0.0), t.peak_torque_nm)
    return best


@pytest.mark.parametrize(("joint", "pattern"), JOINT_CASES)
@pytest.mark.parametrize(("mode", "kind"), [("con/con", "conventional"), ("ecc/ecc", "eccentric")])
@pytest.mark.parametrize("velocity_dps", [60.0, 180.0, 300.0])
def test_ratios_and_bilateral_deficits(joint, pattern, mode, kind, velocity_dps, worst):
    sims = {side: _simulate(joint, pattern, mode, velocity_dps, 1000.0, side=side, seed=3) for side in ("left", "right")}
    comparison = compare([_analyse(sims[side], side) for side in ("left", "right")], same_session=True)
    best = {side: _best_true_peaks(sim) for side, sim in sims.items()}
    case = _case_id(joint, pattern, mode, velocity_dps, 1000.0)
    ratios = [r for r in comparison.ratios if r.kind == kind]
    assert len(ratios) == 2
    for r in ratios:
        side = r.numerator.side
        truth = best[side][r.numerator.direction] / best[side][r.denominator.direction]
        worst.record("ratio (fraction)", r.value - truth, f"{case} {side} {r.label}")
        assert r.value == pytest.approx(truth, abs=0.02)
    assert len(comparison.bilateral) == 2
    for b in comparison.bilateral:
        left, right = best["left"][b.direction], best["right"][b.direction]
        truth = deficit_percent(min(left, right), max(left, right))
        worst.record("bilateral deficit (percentage points)", b.deficit_percent - truth, f"{case} {b.direction}")
        assert b.deficit_percent == pytest.approx(truth, abs=2.0)


@pytest.mark.parametrize(("joint", "pattern"), [("knee", "flexion/extension"), ("shoulder", "external/internal rotation")])
@pytest.mark.parametrize("velocity_dps", [60.0, 180.0])
def test_functional_ratios_from_two_con_ecc_sets(joint, pattern, velocity_dps, worst):
    """Hecc/Qcon and Hcon/Qecc (Aagaard 1998) from a flexor con/ecc set and an extensor con/ecc set."""
    sims = []
    for seed, group in enumerate(PATTERN_DIRECTIONS[pattern], start=5):
        proto = model.SetProtocol(joint=joint, pattern=pattern, side="left", mode="con/ecc",
                                  velocity_dps=velocity_dps, repetitions=3, group=group)  # fmt: skip
        sims.append(model.simulate_set(PROFILE, proto, sample_rate_hz=1000.0, seed=seed))
    comparison = compare([_analyse(sim) for sim in sims], same_session=True)
    best: dict[tuple[str, str], float] = {}
    for sim in sims:
        for t in sim.truth.reps:
            key = (t.group, t.contraction)
            best[key] = max(best.get(key, 0.0), t.peak_torque_nm)
    functional = [r for r in comparison.ratios if r.kind == "functional"]
    assert len(functional) == 2  # numerator eccentric over denominator concentric, and the reverse
    assert {r.numerator.contraction for r in functional} == {"concentric", "eccentric"}
    case = _case_id(joint, pattern, "con/ecc", velocity_dps, 1000.0)
    for r in functional:
        assert r.numerator.contraction != r.denominator.contraction
        truth = best[(r.numerator.direction, r.numerator.contraction)] / best[(r.denominator.direction, r.denominator.contraction)]
        worst.record("ratio (fraction)", r.value - truth, f"{case} functional {r.label}")
        assert r.value == pytest.approx(truth, abs=0.02)


SERVO_VELOCITIES = {"humac": (60.0, 120.0, 180.0, 240.0, 300.0), "soft": (60.0, 120.0, 180.0, 240.0, 300.0),
                    "stiff": (60.0, 180.0, 300.0, 400.0, 500.0)}  # fmt: skip

@pytest.mark.parametrize("fs", [100.0, 200.0, 1000.0, 2000.0])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("servo", "velocity_dps"), [(s, v) for s, vs in SERVO_VELOCITIES.items() for v in vs])
def test_realistic_servos_from_60_to_500_dps(servo, velocity_dps, mode, fs, worst):
    """Servos that ring (simulators.servo): slow ramps, a damped oscillatory overshoot, an impact that rings, speed ripple.

    Every repetition's windowed peak meets the criteria or is null with the reason: the servo settled too late
    (analysis.measurability) or the lever's inertial torque inside the load range could move it by more than 1 %
    (analysis.inertia).
    """
    sim = _simulate("knee", "flexion/extension", mode, velocity_dps, fs, servo=servo)
    _check_reps(sim, _analyse(sim), _case_id("knee", "flexion/extension", mode, velocity_dps, fs, f" {servo} servo"),
                _Prefixed(worst, "realistic servos: "))


class _Prefixed:
    """The session's worst-case collector, with the servo grid's criteria named apart."""

    def __init__(self, worst, prefix):
        self.worst, self.prefix = worst, prefix

    def record(self, criterion, error, case):
        self.worst.record(self.prefix + criterion, error, case)


def _isometric(joint, pattern, fs, side, seed):
    proto = model.SetProtocol(joint=joint, pattern=pattern, side=side, mode="isometric", repetitions=3)
    return model.simulate_set(PROFILE, proto, sample_rate_hz=fs, seed=seed)


def _filtered_noise(sim, cutoff_hz):
    """SD of the simulator's torque noise after the zero-lag low-pass at ``cutoff_hz`` (Hz; ``None``: raw)."""
    noise = sim.torque_nm - sim.muscle_torque_nm - sim.torque_nm[0] + sim.muscle_torque_nm[0]
    if cutoff_hz is not None and cutoff_hz <= sim.sample_rate_hz / 5:
        noise = lowpass(noise, sim.sample_rate_hz, cutoff_hz=cutoff_hz)
    return float(np.std(noise))


@pytest.mark.parametrize(("joint", "pattern"), JOINT_CASES)
@pytest.mark.parametrize("fs", [100.0, 1000.0, 2000.0])
def test_isometric_tests_of_every_joint_against_the_truth(joint, pattern, fs, worst):
    """Each contraction's peak, rate of torque development, best 1 s mean and impulse; the isometric ratio and deficits.

    Peak within 2 % wherever the noise left by the set's filter is under 0.5 % of the peak (else within 2 % plus three
    such noise SDs, recorded apart as noise-limited: a wrist's 7-12 N.m under 0.4 N.m of noise); RTD within 3 % where
    it is measurable (at 500 Hz and above, with the noise left at the 100 Hz onset filter under 1 % of the torque 50 ms
    after onset; elsewhere within 20 %, recorded apart); best 1 s mean and impulse within 2 %.
    """
    sims = {side: _isometric(joint, pattern, fs, side, 8) for side in ("left", "right")}
    analyses = {side: _analyse(sims[side], side) for side in sims}
    case = f"{joint} {pattern} isometric {fs:g} Hz"
    for side, sim in sims.items():
        found = sorted(((c, s.metrics) for s in analyses[side].sets for c in s.metrics.contractions), key=lambda x: x[0].onset_s)
        worst.record("isometric contraction count (difference)", abs(len(found) - len(sim.truth.reps)), case)
        assert len(found) == len(sim.truth.reps)
        rtd_noise = _filtered_noise(sim, 100.0)
        for (c, metrics), t in zip(found, sim.truth.reps):
            assert metrics.direction == t.group and metrics.contraction == "isometric"
            where = f"{case} {side} contraction {t.index + 1}"
            error = 100.0 * (c.peak_torque_nm / t.peak_torque_nm - 1.0)
            noise_pct = 100.0 * _filtered_noise(sim, metrics.cutoff_hz) / t.peak_torque_nm
            if noise_pct < 0.5:
                worst.record("isometric peak torque (%)", error, where)
                assert abs(error) <= 2.0
            else:
                worst.record("isometric peak torque, noise-limited (%)", error, where)
                assert abs(error) <= 2.0 + 3.0 * noise_pct
            measurable = fs >= 500 and rtd_noise < 0.01 * t.rtd_nm_per_s[0] * 0.05
            for w, measured, true in zip((50, 100, 200), (c.rtd_0_50_nm_per_s, c.rtd_0_100_nm_per_s, c.rtd_0_200_nm_per_s),
                                         t.rtd_nm_per_s):
                rtd_error = 100.0 * (measured / true - 1.0)
                worst.record(f"isometric RTD 0-{w} ms (%)" + ("" if measurable else ", noise- or rate-limited"), rtd_error, where)
                assert abs(rtd_error) <= (3.0 if measurable else 20.0)
            for label, measured, true in (("best 1 s mean", c.mean_torque_best_1s_nm, t.best_1s_mean_torque_nm),
                                          ("impulse", c.impulse_nm_s, t.impulse_nm_s)):
                e = 100.0 * (measured / true - 1.0)
                worst.record(f"isometric {label} (%)", e, where)
                assert abs(e) <= 2.0
    comparison = compare([analyses["left"], analyses["right"]], same_session=True)
    best = {side: {g: max(t.peak_torque_nm for t in sims[side].truth.reps if t.group == g) for g in PATTERN_DIRECTIONS[pattern]}
            for side in sims}
    (left, right) = sorted((r for r in comparison.ratios if r.kind == "isometric"), key=lambda r: r.numerator.side)
    for r in (left, right):
        truth = best[r.numerator.side][r.numerator.direction] / best[r.numerator.side][r.denominator.direction]
        sets = {s.metrics.direction: s.metrics for s in analyses[r.numerator.side].sets}
        noise = [100.0 * _filtered_noise(sims[r.numerator.side], sets[t.direction].cutoff_hz) / t.peak_torque_nm
                 for t in (r.numerator, r.denominator)]
        if max(noise) < 0.5:
            worst.record("isometric ratio (fraction)", r.value - truth, f"{case} {r.numerator.side} {r.label}")
            assert r.value == pytest.approx(truth, abs=0.02)
        else:  # noise-limited peaks, as above: each may read up to three noise SDs high
            worst.record("isometric ratio, noise-limited (fraction)", r.value - truth, f"{case} {r.numerator.side} {r.label}")
            assert r.value == pytest.approx(truth, abs=0.02 + truth * 3.0 * sum(noise) / 100.0)
    assert len(comparison.bilateral) == 2
    for b in comparison.bilateral:
        lt, rt = best["left"][b.direction], best["right"][b.direction]
        truth = deficit_percent(min(lt, rt), max(lt, rt))
        worst.record("isometric bilateral deficit (percentage points)", b.deficit_percent - truth, f"{case} {b.direction}")
        assert b.deficit_percent == pytest.approx(truth, abs=2.0)
