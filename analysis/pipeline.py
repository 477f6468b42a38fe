"""The top-level entry: :func:`analyze_recording` turns samples into sets of repetitions.

Steps, each a separately usable function of this package:

1. gravity correction (:func:`analysis.conditioning.gravity_correct`) when a limb torque is given;
2. zero-lag low-pass filter (:func:`analysis.conditioning.lowpass`) of the velocity, and of the
   torque movement by movement, and load range by load range for the windowed figures (so
   the torque outside, e.g. the eccentric torque before a turnaround or the impact artifact,
   does not leak into them), at a cut-off chosen per set from its velocity, peak torque
   and noise (:mod:`analysis.cutoff`);
3. movements from the device's markers when present (:func:`analysis.segmentation.movements_from_markers`),
   else from velocity direction changes (:func:`analysis.segmentation.find_movements`);
4. the plateau velocity of each movement, grouped per direction into nominal set velocities;
5. the muscle group from the torque's sign over the load range, the contraction from
   the sign of torque x velocity; movements whose peak torque is under
   ``passive_torque_percent`` of the recording's largest are passive and dropped;
6. per-repetition figures over the isokinetic load range (:mod:`analysis.repetition`)
   and per-set figures (:mod:`analysis.sets`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from analysis.conditioning import (
    DEFAULT_CUTOFF_HZ,
    gravity_correct,
    lowpass,
    lowpass_segments,
    sample_rate_of,
    velocity_agreement,
)
from analysis.cutoff import (
    DEFAULT_CUTOFF_CYCLES,
    DEFAULT_MIN_CUTOFF_HZ,
    DEFAULT_NOISE_LIMIT_PERCENT,
    noise_sd,
    torque_cutoff_hz,
)
from analysis.errors import NoRepetitionsError
from analysis.joints import direction_of, resolve_pattern
from analysis.repetition import RepetitionMetrics, load_range, measure_repetition
from analysis.segmentation import (
    Gap,
    Movement,
    cluster_velocities,
    find_gaps,
    find_movements,
    movements_from_markers,
    plateau_speed,
    segments_between,
)
from analysis.sets import SetMetrics, set_metrics

__all__ = ["AnalysisOptions", "AngleCurve", "RecordingAnalysis", "RecordingWarning", "SetAnalysis", "analyze_recording"]


@dataclass(frozen=True)
class AnalysisOptions:
    """Every processing choice, with its default. All are reported in the JSON ``parameters``.

    Attributes
    ----------
    cutoff_hz
        Low-pass cut-off (Hz) of the velocity and the highest cut-off of the torque;
        ``None`` analyses the raw signals. Default 20 Hz
        (:data:`analysis.conditioning.DEFAULT_CUTOFF_HZ`, reason given there).
    noise_limit_percent, cutoff_cycles, min_cutoff_hz
        The torque of a set is filtered at the highest cut-off up to ``cutoff_hz`` that leaves
        noise of at most ``noise_limit_percent`` of the set's peak torque, but with no fewer
        than ``cutoff_cycles`` periods per load range and no lower than ``min_cutoff_hz``
        (defaults 0.25 %, 3, 6 Hz; reasons in :mod:`analysis.cutoff`).
        ``noise_limit_percent=None`` filters the torque at ``cutoff_hz`` whatever the set.
    filter_order
        Butterworth order of one pass (forward-backward doubles it).
    window_tolerance_percent
        The load range is where speed is within this % of the nominal velocity (default 10 %).
    overshoot_percent, settle_percent
        A speed more than ``overshoot_percent`` above the nominal velocity on arrival is an
        overshoot; the load range then starts once its braking is over, and not before the
        speed is back within ``settle_percent`` (defaults 2 % and 0.2 %; see
        :func:`analysis.repetition.braking_end`).
    rest_speed_dps, min_speed_dps, min_rom_deg, min_duration_s
        Movement detection (see :func:`analysis.segmentation.find_movements`).
    velocity_tolerance_percent
        Plateaus within this % of each other belong to one set velocity (default 15 %).
    passive_torque_percent
        Movements whose peak torque is below this % of the recording's largest are passive
        (positioning, a passive return) and not repetitions (default 10 %).
    torque_angle_deg, torque_time_s
        Torque is also read at this angle (deg, default 30) and this time from onset (s, default 0.18).
    use_markers
        Use the device's repetition markers when the recording has them (default True).
    """

    cutoff_hz: float | None = DEFAULT_CUTOFF_HZ
    noise_limit_percent: float | None = DEFAULT_NOISE_LIMIT_PERCENT
    cutoff_cycles: float = DEFAULT_CUTOFF_CYCLES
    min_cutoff_hz: float = DEFAULT_MIN_CUTOFF_HZ
    filter_order: int = 2
    window_tolerance_percent: float = 10.0
    rest_speed_dps: float = 3.0
    min_speed_dps: float = 10.0
    min_rom_deg: float = 5.0
    min_duration_s: float = 0.05
    velocity_tolerance_percent: float = 15.0
    passive_torque_percent: float = 10.0
    overshoot_percent: float = 2.0
    settle_percent: float = 0.2
    torque_angle_deg: float | None = 30.0
    torque_time_s: float | None = 0.18
    use_markers: bool = True

    def __post_init__(self) -> None:
        if self.cutoff_hz is not None and self.cutoff_hz <= 0:
            raise ValueError(f"cutoff_hz must be positive, got {self.cutoff_hz}")
        if self.noise_limit_percent is not None and self.noise_limit_percent <= 0:
            raise ValueError(f"noise_limit_percent must be positive, got {self.noise_limit_percent}")
        if not self.cutoff_cycles > 0:
            raise ValueError(f"cutoff_cycles must be positive, got {self.cutoff_cycles}")
        if not self.min_cutoff_hz > 0:
            raise ValueError(f"min_cutoff_hz must be positive, got {self.min_cutoff_hz}")
        if self.noise_limit_percent is not None and self.cutoff_hz is not None and self.min_cutoff_hz > self.cutoff_hz:
            raise ValueError(f"min_cutoff_hz ({self.min_cutoff_hz:g}) is above cutoff_hz ({self.cutoff_hz:g})")
        if not 0 < self.window_tolerance_percent < 100:
            raise ValueError(f"window_tolerance_percent must be in (0, 100), got {self.window_tolerance_percent}")
        if not 0 <= self.passive_torque_percent < 100:
            raise ValueError(f"passive_torque_percent must be in [0, 100), got {self.passive_torque_percent}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, eq=False)
class AngleCurve:
    """Mean load-range torque (N.m, the group's, positive) over a 1-deg grid of positions (deg)."""

    angle_deg: np.ndarray
    torque_nm: np.ndarray


@dataclass(frozen=True, eq=False)
class SetAnalysis:
    """One set's figures with its torque-angle curve (used for angle-specific ratios)."""

    metrics: SetMetrics
    angle_curve: AngleCurve | None = None


@dataclass(frozen=True)
class RecordingWarning:
    """A data-quality finding about a whole recording: ``rule`` (a flag name) and ``message``."""

    rule: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"rule": self.rule, "message": self.message}


@dataclass(frozen=True, eq=False)
class RecordingAnalysis:
    """The sets found in one recording, with what was assumed to find them.

    ``segmentation`` is ``"markers"`` or ``"velocity"``; ``gravity_corrected`` tells whether
    a limb torque was subtracted; ``sets`` are in the order their first repetition occurs.
    """

    source: str
    joint: str
    pattern: str
    side: str | None
    body_mass_kg: float | None
    gravity_torque_nm: float | None
    horizontal_angle_deg: float | None
    sample_rate_hz: float
    segmentation: str
    sets: tuple[SetAnalysis, ...] = field(default_factory=tuple)
    gaps: tuple[Gap, ...] = field(default_factory=tuple)
    warnings: tuple[RecordingWarning, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping (see analysis/README.md)."""
        return {
            "source": self.source,
            "joint": self.joint,
            "pattern": self.pattern,
            "side": self.side,
            "body_mass_kg": self.body_mass_kg,
            "gravity_corrected": self.gravity_torque_nm is not None,
            "gravity_torque_nm": self.gravity_torque_nm,
            "horizontal_angle_deg": self.horizontal_angle_deg,
            "sample_rate_hz": round(self.sample_rate_hz, 6),
            "segmentation": self.segmentation,
            "gaps": [
                {"after_s": round(g.after_s, 6), "duration_s": round(g.duration_s, 6), "samples_lost": g.samples_lost,
                 "reason": g.reason}
                for g in self.gaps
            ],
            "warnings": [w.to_dict() for w in self.warnings],
            "sets": [s.metrics.to_dict() for s in self.sets],
        }


def _angle_curve(parts: list[tuple[np.ndarray, np.ndarray]]) -> AngleCurve | None:
    """Mean torque over integer angles covered by at least half the repetitions' load ranges.

    ``parts`` holds each repetition's load-range positions (deg) and group torques (N.m).
    """
    lo = float(np.ceil(min(float(np.min(p)) for p, _ in parts)))
    hi = float(np.floor(max(float(np.max(p)) for p, _ in parts)))
    grid = np.arange(lo, hi + 1.0)
    total = np.zeros(len(grid))
    count = np.zeros(len(grid))
    for pos, tq in parts:
        order = np.argsort(pos, kind="stable")
        inside = (grid >= pos[order[0]]) & (grid <= pos[order[-1]])
        total[inside] += np.interp(grid[inside], pos[order], tq[order])
        count[inside] += 1
    keep = count >= max(1, (len(parts) + 1) // 2)
    if keep.sum() < 2:
        return None
    return AngleCurve(angle_deg=grid[keep], torque_nm=total[keep] / count[keep])


def _filtered_segments(
    tq: np.ndarray, bounds: list[tuple[int, int]], cutoffs: list[float | None], fs: float, order: int
) -> list[np.ndarray]:
    """Each segment's torque, low-passed on its own at its cut-off so the neighbouring samples do not leak into it."""
    out: list[np.ndarray] = [tq[a:b] for a, b in bounds]
    for cutoff in set(c for c in cutoffs if c is not None):
        chosen = [i for i, c in enumerate(cutoffs) if c == cutoff]
        for i, filtered in zip(chosen, lowpass_segments(tq, [bounds[i] for i in chosen], fs, cutoff_hz=cutoff, order=order)):
            out[i] = filtered
    return out


def _torque_cutoffs(
    tq: np.ndarray,
    movements: list[Movement],
    windows: list[tuple[int, int] | None],
    cluster: list[int],
    fs: float,
    options: AnalysisOptions,
) -> list[float | None]:
    """The torque's cut-off (Hz) of each movement, one per direction and set velocity (:mod:`analysis.cutoff`).

    The set's load-range duration, peak torque and noise are the medians over its movements'
    load ranges (the whole movement when it has none) of their duration, largest raw torque
    magnitude and noise SD.
    """
    if options.cutoff_hz is None or options.noise_limit_percent is None:
        return [options.cutoff_hz] * len(movements)
    sets: dict[tuple[int, int], list[int]] = {}
    for i, m in enumerate(movements):
        sets.setdefault((m.sign, cluster[i]), []).append(i)
    cutoffs: list[float | None] = [options.cutoff_hz] * len(movements)
    for members in sets.values():
        durations, peaks, noises = [], [], []
        for i in members:
            a, b = windows[i] or (0, movements[i].stop - movements[i].start)
            durations.append((b - a) / fs)
            segment = tq[movements[i].start + a : movements[i].start + b]
            peaks.append(float(np.max(np.abs(segment))))
            noises.append(noise_sd(segment))
        cutoff = torque_cutoff_hz(
            float(np.median(durations)),
            peak_torque_nm=float(np.median(peaks)),
            noise_sd_nm=float(np.median(noises)),
            sample_rate_hz=fs,
            noise_limit_percent=options.noise_limit_percent,
            cycles=options.cutoff_cycles,
            min_cutoff_hz=options.min_cutoff_hz,
            max_cutoff_hz=options.cutoff_hz,
        )
        for i in members:
            cutoffs[i] = cutoff
    return cutoffs


def _check_arrays(*arrays: np.ndarray) -> None:
    n = len(arrays[0])
    if any(len(a) != n for a in arrays):
        raise ValueError("time_s, torque_nm, position_deg and velocity_dps must have the same length")
    if not all(np.isfinite(a).all() for a in arrays):
        raise ValueError("samples must be finite (no NaN or inf)")


def analyze_recording(
    time_s: np.ndarray,
    torque_nm: np.ndarray,
    position_deg: np.ndarray,
    velocity_dps: np.ndarray,
    *,
    joint: str,
    pattern: str | None = None,
    side: str | None = None,
    body_mass_kg: float | None = None,
    gravity_torque_nm: float | None = None,
    horizontal_angle_deg: float | None = None,
    markers: Sequence[int] | None = None,
    sample_index: np.ndarray | None = None,
    warnings: Mapping[str, str] | None = None,
    source: str = "",
    options: AnalysisOptions = AnalysisOptions(),
) -> RecordingAnalysis:
    """Find the sets and repetitions of one recording and measure them.

    Parameters
    ----------
    time_s, torque_nm, position_deg, velocity_dps
        Samples in s, N.m, deg, deg/s with the project's signs (DOMAIN.md section 2).
    joint, pattern
        Canonical names; the pattern defaults to the joint's first.
    side
        ``"left"`` or ``"right"`` (needed for bilateral comparisons), or ``None``.
    body_mass_kg
        Subject mass (kg) for the per-kg figures.
    gravity_torque_nm, horizontal_angle_deg
        Limb + lever gravitational torque (N.m) with the segment horizontal, at that position
        (deg, default 0). ``None`` skips the correction.
    markers
        Device sample indices of direction reversals (vendor exports), or ``None``.
    sample_index
        The device's index of each sample (int64: a recording's ``sequence`` column, a stored
        trial's ``sequence``, a vendor file's counter or device clock), or ``None``. When
        given, gaps are exactly where it does not step by 1 and the host-time steps are not
        looked at; only without it a time step over 1.5 sample periods is a gap
        (:func:`analysis.segmentation.find_gaps`). No movement, load range or repetition
        crosses a gap: those cut by one are dropped, and :attr:`RecordingAnalysis.gaps`
        lists the gaps (the ``recording_gap`` warning).
    warnings
        Data-quality findings of whoever read the recording (``rule -> message``, e.g. an
        importer that corrected the velocity's sign), reported with the analysis's own in
        :attr:`RecordingAnalysis.warnings`.
    source
        Name shown in reports (file name).
    options
        Processing choices (:class:`AnalysisOptions`).

    Raises
    ------
    UnknownJointError
        Unknown joint or pattern.
    NoRepetitionsError
        When no movement qualifies as a repetition.
    ValueError
        Mismatched or non-finite arrays, bad options.
    """
    joint, pattern = resolve_pattern(joint, pattern)
    if side is not None and side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    if body_mass_kg is not None and not body_mass_kg > 0:
        raise ValueError(f"body mass must be positive, got {body_mass_kg:g} kg")
    t = np.asarray(time_s, dtype=np.float64)
    tq = np.asarray(torque_nm, dtype=np.float64)
    pos = np.asarray(position_deg, dtype=np.float64)
    vel = np.asarray(velocity_dps, dtype=np.float64)
    _check_arrays(t, tq, pos, vel)
    fs = sample_rate_of(t)
    if gravity_torque_nm is not None:
        horizontal_angle_deg = 0.0 if horizontal_angle_deg is None else horizontal_angle_deg
        tq = gravity_correct(tq, pos, gravity_torque_nm=gravity_torque_nm, horizontal_angle_deg=horizontal_angle_deg)
    found = [RecordingWarning(rule, message) for rule, message in (warnings or {}).items()]
    agreement = velocity_agreement(t, pos, vel)
    if agreement is not None and agreement < 0:
        vel = -vel
        found.append(RecordingWarning("velocity_sign_contradicts_position", (
            f"the velocity's sign contradicts the change of position (correlation {agreement:.2f}): the direction "
            "of movement, and so concentric or eccentric, is taken from the position")))
    elif agreement is not None and agreement < 0.5:
        found.append(RecordingWarning("velocity_disagrees_with_position", (
            f"the velocity barely follows the change of position (correlation {agreement:.2f}); check the recording")))
    vel_raw = vel
    gaps = find_gaps(t, sample_index=sample_index)
    if options.cutoff_hz is not None:
        if gaps:  # each gap-free stretch on its own: the filter must not smear across lost samples
            pieces = lowpass_segments(vel, segments_between(len(vel), gaps), fs, cutoff_hz=options.cutoff_hz,
                                      order=options.filter_order)
            vel = np.concatenate(pieces)
        else:
            vel = lowpass(vel, fs, cutoff_hz=options.cutoff_hz, order=options.filter_order)

    if markers is not None and options.use_markers and len(markers) >= 2:
        movements = movements_from_markers(markers, vel, rest_speed_dps=options.rest_speed_dps, gaps=gaps)
        segmentation = "markers"
    else:
        movements = find_movements(
            t, pos, vel,
            rest_speed_dps=options.rest_speed_dps,
            min_speed_dps=options.min_speed_dps,
            min_rom_deg=options.min_rom_deg,
            min_duration_s=options.min_duration_s,
            gaps=gaps,
        )
        segmentation = "velocity"
    if not movements:
        raise NoRepetitionsError(f"{source or 'recording'}: no repetitions found")
    sets = _measure_sets(t, tq, pos, vel, vel_raw, movements, fs=fs, pattern=pattern, body_mass_kg=body_mass_kg, options=options)
    if not sets:
        raise NoRepetitionsError(f"{source or 'recording'}: no repetitions found (only passive movements)")
    return RecordingAnalysis(
        source=source,
        joint=joint,
        pattern=pattern,
        side=side,
        body_mass_kg=body_mass_kg,
        gravity_torque_nm=gravity_torque_nm,
        horizontal_angle_deg=horizontal_angle_deg,
        sample_rate_hz=fs,
        segmentation=segmentation,
        sets=tuple(sets),
        gaps=tuple(gaps),
        warnings=tuple(found),
    )


def _measure_sets(
    t: np.ndarray,
    tq: np.ndarray,
    pos: np.ndarray,
    vel_smooth: np.ndarray,
    vel_raw: np.ndarray,
    movements: list[Movement],
    *,
    fs: float,
    pattern: str,
    body_mass_kg: float | None,
    options: AnalysisOptions,
) -> list[SetAnalysis]:
    speeds = [m.sign * vel_smooth[m.start : m.stop] for m in movements]
    plateaus = [plateau_speed(s) for s in speeds]
    nominal = [0.0] * len(movements)
    cluster = [0] * len(movements)
    for sign in (1, -1):
        idx = [i for i, m in enumerate(movements) if m.sign == sign]
        labels = cluster_velocities([plateaus[i] for i in idx], velocity_tolerance=options.velocity_tolerance_percent / 100)
        for label in set(labels):
            members = [i for i, lab in zip(idx, labels) if lab == label]
            value = float(np.median([plateaus[i] for i in members]))
            for i in members:
                nominal[i], cluster[i] = value, label
    tol = options.window_tolerance_percent / 100
    windows = [
        load_range(
            m.sign * vel_raw[m.start : m.stop],
            nominal[i],
            tolerance=tol,
            overshoot=options.overshoot_percent / 100,
            settle=options.settle_percent / 100,
        )
        for i, m in enumerate(movements)
    ]
    cutoffs = _torque_cutoffs(tq, movements, windows, cluster, fs, options)
    torques = _filtered_segments(tq, [(m.start, m.stop) for m in movements], cutoffs, fs, options.filter_order)
    load_bounds = [(m.start + w[0], m.start + w[1]) if w else (m.start, m.start) for m, w in zip(movements, windows)]
    load_torques = _filtered_segments(tq, load_bounds, cutoffs, fs, options.filter_order)
    group_signs: list[int] = []
    peaks: list[float] = []
    for i, (m, w) in enumerate(zip(movements, windows)):
        a, b = w if w else (0, m.stop - m.start)
        g = 1 if float(np.sum(torques[i][a:b])) >= 0 else -1
        group_signs.append(g)
        peaks.append(float(np.max(g * torques[i])))
    floor = options.passive_torque_percent / 100 * max(peaks)
    keys: dict[tuple[int, int, int], list[int]] = {}
    for i, m in enumerate(movements):
        if peaks[i] >= floor and peaks[i] > 0:
            keys.setdefault((group_signs[i], m.sign, cluster[i]), []).append(i)
    result: list[SetAnalysis] = []
    for (g, sign, _), members in sorted(keys.items(), key=lambda kv: movements[kv[1][0]].start):
        reps: list[RepetitionMetrics] = []
        curve_parts: list[tuple[np.ndarray, np.ndarray]] = []
        for n, i in enumerate(members, start=1):
            m, w = movements[i], windows[i]
            sl = slice(m.start, m.stop)
            window_torque = None
            if w is not None:
                window_torque = g * load_torques[i]
                if w[1] - w[0] >= 2:
                    curve_parts.append((pos[sl][w[0] : w[1]], window_torque))
            reps.append(
                measure_repetition(
                    t[sl], g * torques[i], pos[sl], speeds[i],
                    index=n,
                    movement=direction_of(pattern, sign),
                    velocity_dps=plateaus[i],
                    window=w,
                    torque_angle_deg=options.torque_angle_deg,
                    torque_time_s=options.torque_time_s,
                    load_range_torque_nm=window_torque,
                    raw_group_torque_nm=g * tq[sl],
                )
            )
        metrics = set_metrics(
            reps,
            direction=direction_of(pattern, g),
            contraction="concentric" if g == sign else "eccentric",
            velocity_dps=nominal[members[0]],
            body_mass_kg=body_mass_kg,
            cutoff_hz=cutoffs[members[0]],
        )
        curve = _angle_curve(curve_parts) if curve_parts else None
        result.append(SetAnalysis(metrics=metrics, angle_curve=curve))
    return result
