"""An isometric recording's sets: its contractions grouped per muscle group and angle, each set filtered to its noise."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from analysis.cutoff import noise_sd, torque_cutoff_hz
from analysis.isometric import (
    angle_groups,
    filtered_noise_sd,
    filtered_torque,
    find_contractions,
    measure_contraction,
)
from analysis.joints import direction_of
from analysis.movement_sets import SetAnalysis
from analysis.options import AnalysisOptions
from analysis.segmentation import Gap, segments_between
from analysis.sets import isometric_set_metrics

__all__ = ["isometric_sets"]


def _filtered(tq: np.ndarray, stretches: list[tuple[int, int]], fs: float, cutoff_hz: float | None, order: int) -> np.ndarray:
    """The torque low-passed at ``cutoff_hz`` (Hz) stretch by stretch between gaps."""
    return np.concatenate([filtered_torque(tq[a:b], fs, cutoff_hz, order) for a, b in stretches])


def isometric_sets(
    t: np.ndarray,
    tq: np.ndarray,
    pos: np.ndarray,
    fs: float,
    *,
    pattern: str,
    body_mass_kg: float | None,
    options: AnalysisOptions,
    unsigned: bool,
    gaps: Sequence[Gap],
) -> list[SetAnalysis]:
    """The sets of an isometric recording (:mod:`analysis.isometric`), in the order they start.

    Contractions are found on the torque low-passed at ``options.cutoff_hz``; each set's
    figures then use the cut-off :func:`analysis.cutoff.torque_cutoff_hz` gives its median
    contraction (duration, peak, the recording's noise), as an isokinetic set's do: a weak
    muscle under noise is filtered lower so its peak does not read the noise's maximum. A
    contraction a gap cut is left out, as a movement would be. With ``unsigned`` torque every
    contraction's group is ``"unknown"``.
    """
    stretches = segments_between(len(tq), gaps)
    raw_noise = noise_sd(tq)
    filtered = _filtered(tq, stretches, fs, options.cutoff_hz, options.filter_order)
    sharp = _filtered(tq, stretches, fs, options.rtd_cutoff_hz, options.filter_order)
    cut = {g.index for g in gaps}
    found = [
        c for c in find_contractions(t, filtered, fs, noise_nm=filtered_noise_sd(raw_noise, fs, options.cutoff_hz),
                                     onset_nm=sharp, onset_noise_nm=filtered_noise_sd(raw_noise, fs, options.rtd_cutoff_hz))
        if not any(c.onset <= i <= c.stop for i in cut)
    ]  # fmt: skip
    if not found:
        return []
    angles = [float(np.median(pos[c.onset : c.stop])) for c in found]
    labels = angle_groups(angles, tolerance_deg=options.isometric_angle_tolerance_deg)
    keys: dict[tuple[int, int], list[int]] = {}
    for i, c in enumerate(found):
        keys.setdefault((0 if unsigned else c.sign, labels[i]), []).append(i)
    result: list[SetAnalysis] = []
    for (sign, _), members in sorted(keys.items(), key=lambda kv: found[kv[1][0]].onset):
        cutoff = options.cutoff_hz if options.cutoff_hz is not None and options.cutoff_hz < fs / 2 else None
        torque = filtered
        if cutoff is not None and options.noise_limit_percent is not None:
            peaks = [float(np.max(found[i].sign * (filtered[found[i].onset : found[i].stop] - found[i].baseline_nm)))
                     for i in members]
            durations = [float(t[found[i].stop - 1] - t[found[i].onset]) for i in members]
            chosen = torque_cutoff_hz(float(np.median(durations)), peak_torque_nm=float(np.median(peaks)),
                                      noise_sd_nm=raw_noise, sample_rate_hz=fs,
                                      noise_limit_percent=options.noise_limit_percent, cycles=options.cutoff_cycles,
                                      min_cutoff_hz=options.min_cutoff_hz, max_cutoff_hz=cutoff)  # fmt: skip
            if chosen < cutoff:
                cutoff, torque = chosen, _filtered(tq, stretches, fs, chosen, options.filter_order)
        metrics = [measure_contraction(found[i], index=n, time_s=t, filtered_nm=torque, raw_nm=tq, position_deg=pos,
                                       onset_nm=sharp) for n, i in enumerate(members, start=1)]  # fmt: skip
        direction = "unknown" if sign == 0 else direction_of(pattern, sign)
        result.append(SetAnalysis(metrics=isometric_set_metrics(metrics, direction=direction, body_mass_kg=body_mass_kg,
                                                                cutoff_hz=cutoff)))
    return result
