"""Isokinetic sets from movements: load ranges, filtering, muscle groups, passive and partial movements.

:func:`measure_sets` takes the movements :mod:`analysis.segmentation` found and returns the
sets (one per muscle group x contraction x velocity) with their repetitions' figures
(:mod:`analysis.repetition`, :mod:`analysis.sets`), and the passive movements left out of
them (:mod:`analysis.passive`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from analysis.conditioning import lowpass_segments
from analysis.cutoff import noise_sd, noise_sds, torque_cutoff_hz
from analysis.inertia import inertial_reasons
from analysis.joints import direction_of
from analysis.measurability import unmeasurable_reasons
from analysis.options import AnalysisOptions
from analysis.passive import PassiveMovement, passive_reasons
from analysis.repetition import NEVER_REACHED, RepetitionMetrics, load_ranges
from analysis.repetition_figures import measure_repetitions
from analysis.segmentation import Movement, cluster_velocities, plateau_speeds
from analysis.segments import Segments, gather_index, range_reduce
from analysis.sets import IsometricSetMetrics, SetMetrics, set_metrics
from analysis.stats import median

__all__ = ["AngleCurve", "SetAnalysis", "measure_sets"]


@dataclass(frozen=True, eq=False)
class AngleCurve:
    """Mean load-range torque (N.m, the group's, positive) over a 1-deg grid of positions (deg)."""

    angle_deg: np.ndarray
    torque_nm: np.ndarray


@dataclass(frozen=True, eq=False)
class SetAnalysis:
    """One set's figures with its torque-angle curve (used for angle-specific ratios; ``None`` for isometric sets)."""

    metrics: SetMetrics | IsometricSetMetrics
    angle_curve: AngleCurve | None = None


def _angle_curve(parts: list[tuple[np.ndarray, np.ndarray]]) -> AngleCurve | None:
    """Mean torque over integer angles covered by at least half the repetitions' load ranges.

    ``parts`` holds each repetition's load-range positions (deg) and group torques (N.m).
    """
    ordered = []
    for pos, tq in parts:
        order = np.argsort(pos, kind="stable")
        ordered.append((pos[order], tq[order]))
    lo = float(np.ceil(min(float(p[0]) for p, _ in ordered)))
    hi = float(np.floor(max(float(p[-1]) for p, _ in ordered)))
    grid = np.arange(lo, hi + 1.0)
    total = np.zeros(len(grid))
    count = np.zeros(len(grid))
    for pos, tq in ordered:  # the grid's whole degrees from the first at or above the lowest position to the highest
        a, b = max(0, math.ceil(float(pos[0])) - int(lo)), max(0, math.floor(float(pos[-1])) - int(lo) + 1)
        total[a:b] += np.interp(grid[a:b], pos, tq)
        count[a:b] += 1
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
    bounds: tuple[np.ndarray, np.ndarray],
    cluster: list[int],
    fs: float,
    options: AnalysisOptions,
) -> list[float | None]:
    """The torque's cut-off (Hz) of each movement, one per direction and set velocity (:mod:`analysis.cutoff`).

    The set's load-range duration, peak torque and noise are the medians over its movements'
    load ranges (``bounds``: recording samples, the whole movement when it has none) of their
    duration, largest raw torque magnitude and noise SD.
    """
    if options.cutoff_hz is None or options.noise_limit_percent is None:
        return [options.cutoff_hz] * len(movements)
    lo, hi = bounds
    durations = ((hi - lo) / fs).tolist()
    peaks = range_reduce(np.maximum, np.abs(tq), lo, hi).tolist()
    noises = noise_sds(tq, lo, hi).tolist()
    sets: dict[tuple[int, int], list[int]] = {}
    for i, m in enumerate(movements):
        sets.setdefault((m.sign, cluster[i]), []).append(i)
    cutoffs: list[float | None] = [options.cutoff_hz] * len(movements)
    for members in sets.values():
        cutoff = torque_cutoff_hz(
            float(np.median([durations[i] for i in members])),
            peak_torque_nm=float(np.median([peaks[i] for i in members])),
            noise_sd_nm=float(np.median([noises[i] for i in members])),
            sample_rate_hz=fs,
            noise_limit_percent=options.noise_limit_percent,
            cycles=options.cutoff_cycles,
            min_cutoff_hz=options.min_cutoff_hz,
            max_cutoff_hz=options.cutoff_hz,
        )
        for i in members:
            cutoffs[i] = cutoff
    return cutoffs


def measure_sets(
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
    inertia_kgm2: float,
    mode: str | None,
    group_sign: int | None,
    set_velocity_dps: tuple[float, float] | None,
) -> tuple[list[SetAnalysis], list[PassiveMovement]]:
    starts = np.array([m.start for m in movements], dtype=np.intp)
    stops = np.array([m.stop for m in movements], dtype=np.intp)
    segments = Segments.of(stops - starts)
    off = segments.starts
    flat = gather_index(starts, stops - starts)  # every movement's samples, end to end
    sign = segments.spread(np.array([m.sign for m in movements]))
    speed = sign * np.take(vel_smooth, flat)  # numpy.take: several times faster than x[index] here
    plateaus: list[float] = plateau_speeds(speed, segments).tolist()
    nominal = [0.0] * len(movements)
    cluster = [0] * len(movements)
    for direction in (1, -1):
        idx = [i for i, m in enumerate(movements) if m.sign == direction]
        labels = cluster_velocities([plateaus[i] for i in idx], velocity_tolerance=options.velocity_tolerance_percent / 100)
        for label in set(labels):
            members = [i for i, lab in zip(idx, labels) if lab == label]
            value = float(np.median([plateaus[i] for i in members]))
            for i in members:
                nominal[i], cluster[i] = value, label
    tol = options.window_tolerance_percent / 100
    velocity_groups = cluster_velocities(plateaus, velocity_tolerance=options.velocity_tolerance_percent / 100)
    raw_speed = sign * np.take(vel_raw, flat)
    w_start, w_stop, uncertainty = load_ranges(
        raw_speed, segments, np.array(nominal), velocity_groups, fs,
        tolerance=tol, overshoot=options.overshoot_percent / 100, settle=options.settle_percent / 100,
    )  # fmt: skip
    has = w_start >= 0
    lo, hi = np.where(has, starts + w_start, starts), np.where(has, starts + w_stop, stops)
    cutoffs = _torque_cutoffs(tq, movements, (lo, hi), cluster, fs, options)
    torque = _filtered(tq, starts, stops, cutoffs, fs, options.filter_order)
    group_sign_of = np.where(range_reduce(np.add, torque, off + (lo - starts), off + (hi - starts)) >= 0, 1, -1)
    group_signs: list[int] = group_sign_of.tolist()
    windows = [(a, b) if a >= 0 else None for a, b in zip(w_start.tolist(), w_stop.tolist())]
    uncertainties: list[int] = uncertainty.tolist()

    def filtered(bounds: list[tuple[int, int]]) -> list[np.ndarray]:
        return _filtered_segments(tq, bounds, cutoffs, fs, options.filter_order)

    unmeasurable = unmeasurable_reasons(
        windows, uncertainties, starts.tolist(), group_signs, filtered, fs,
        min_load_range_s=options.min_load_range_s, start_sensitivity_percent=options.start_sensitivity_percent,
    )  # fmt: skip
    windows = [None if why else w for w, why in zip(windows, unmeasurable)]
    load_bounds = [(m.start + w[0], m.start + w[1]) if w else (m.start, m.start) for m, w in zip(movements, windows)]
    load_torques = _filtered_segments(tq, load_bounds, cutoffs, fs, options.filter_order)
    inertial = inertial_reasons(
        windows, uncertainties, movements, raw_speed, segments, nominal, velocity_groups, group_signs, load_torques,
        lambda bounds: _filtered_segments(vel_raw, bounds, cutoffs, fs, options.filter_order), fs,
        inertia_kgm2=inertia_kgm2, inertial_torque_percent=options.inertial_torque_percent, tolerance=tol,
        overshoot=options.overshoot_percent / 100,
    )  # fmt: skip
    unmeasurable = [why or inertial_why for why, inertial_why in zip(unmeasurable, inertial)]
    windows = [None if why else w for w, why in zip(windows, unmeasurable)]
    g = segments.spread(group_sign_of)
    group_torque = g * torque
    lengths = segments.lengths.tolist()
    levels = [_middle_level(group_torque[a : a + n]) for a, n in zip(off.tolist(), lengths)]
    passive_why = passive_reasons(
        levels, group_signs, [m.sign for m in movements], plateaus,
        passive_torque_percent=options.passive_torque_percent, noise_nm=noise_sd(tq),
        mode=mode, group_sign=group_sign, set_velocity_dps=set_velocity_dps,
        set_velocity_tolerance_percent=options.set_velocity_tolerance_percent,
        passive_mode_percent=options.passive_mode_percent,
    )  # fmt: skip
    passive = [
        PassiveMovement(direction_of(pattern, m.sign), float(t[m.start]), float(t[m.stop - 1]), plateaus[i],
                        float(np.max(np.abs(tq[m.start : m.stop]))), float(np.mean(tq[m.start : m.stop])), why)
        for i, (m, why) in enumerate(zip(movements, passive_why)) if why is not None
    ]  # fmt: skip
    active = [i for i, why in enumerate(passive_why) if why is None]
    measured = np.array([w is not None for w in windows])
    window_torques = [group_signs[i] * load_torques[i] for i in np.flatnonzero(measured).tolist()]
    figures = measure_repetitions(
        np.take(t, flat), group_torque, np.take(pos, flat), speed, g * np.take(tq, flat), segments,
        np.where(measured, w_start, -1), np.where(measured, w_stop, -1),
        np.concatenate(window_torques) if window_torques else np.empty(0),
        torque_angle_deg=options.torque_angle_deg, torque_time_s=options.torque_time_s,
    )  # fmt: skip
    values: dict[str, list[Any]] = {k: [None if v != v else v for v in column.tolist()] for k, column in figures.items()}
    roms: list[float] = values["rom_deg"]  # nan marks a figure that has none: None
    keys: dict[tuple[int, int, int], list[int]] = {}
    for i in active:
        keys.setdefault((group_signs[i], movements[i].sign, cluster[i]), []).append(i)
    result: list[SetAnalysis] = []
    for (gs, direction, _), members in sorted(keys.items(), key=lambda kv: movements[kv[1][0]].start):
        usual = float(np.median([roms[i] for i in (members if len(members) >= 3 else active)]))
        reps: list[RepetitionMetrics] = []
        curve_parts: list[tuple[np.ndarray, np.ndarray]] = []
        for n, i in enumerate(members, start=1):
            w = windows[i]
            if w is not None and w[1] - w[0] >= 2:
                curve_parts.append((pos[movements[i].start + w[0] : movements[i].start + w[1]], gs * load_torques[i]))
            why = unmeasurable[i] if w is None else None
            partial = _partial_reason(roms[i], usual, options)
            reps.append(RepetitionMetrics(
                index=n, movement=direction_of(pattern, direction), velocity_dps=float(plateaus[i]),
                **{k: column[i] for k, column in values.items()},
                partial=partial is not None, partial_reason=partial,
                no_load_range_reason=why or (f"{NEVER_REACHED} {plateaus[i]:.0f} deg/s" if w is None else None),
            ))  # fmt: skip
        metrics = set_metrics(
            reps,
            direction=direction_of(pattern, gs),
            contraction="concentric" if gs == direction else "eccentric",
            velocity_dps=nominal[members[0]],
            body_mass_kg=body_mass_kg,
            cutoff_hz=cutoffs[members[0]],
        )
        curve = _angle_curve(curve_parts) if curve_parts else None
        result.append(SetAnalysis(metrics=metrics, angle_curve=curve))
    return result, passive


def _filtered(tq: np.ndarray, starts: np.ndarray, stops: np.ndarray, cutoffs: list[float | None], fs: float,
              order: int) -> np.ndarray:
    """Each movement's torque low-passed on its own at its cut-off, end to end."""
    parts = _filtered_segments(tq, list(zip(starts.tolist(), stops.tolist())), cutoffs, fs, order)
    return np.concatenate(parts) if parts else np.empty(0)


def _middle_level(group_torque_nm: np.ndarray) -> float:
    """The group torque's median over the middle half of a movement (N.m): its level, for passive movements.

    Not its peak: a relaxed limb moved right after a contraction still reads the muscle's
    relaxation at the start of the movement (a 30 ms time constant on 150 N.m), and the
    lever's impact artifact; the middle half reads the limb's weight alone.
    """
    n = len(group_torque_nm)
    return median(group_torque_nm[n // 4 : n - n // 4]) if n >= 4 else float(np.max(group_torque_nm))


def _partial_reason(rom_deg: float, usual_rom_deg: float, options: AnalysisOptions) -> str | None:
    """Why a repetition covering ``rom_deg`` is partial (under ``partial_rom_percent`` of its set's usual range), or ``None``."""
    if rom_deg < options.partial_rom_percent / 100 * usual_rom_deg:
        return (f"covers {rom_deg:.0f} of the set's usual {usual_rom_deg:.0f} deg (under {options.partial_rom_percent:g} %): "
                "a movement started from rest inside the range or stopped short")
    return None
