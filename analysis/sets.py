"""Per-set figures: best and mean peak torque, consistency, work and fatigue (DOMAIN.md section 4)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from analysis.isometric import ContractionMetrics
from analysis.repetition import RepetitionMetrics, _clean

__all__ = [
    "ENDURANCE_MIN_CONTRACTIONS",
    "IsometricSetMetrics",
    "SetMetrics",
    "fatigue_figures",
    "isometric_set_metrics",
    "set_metrics",
]


@dataclass(frozen=True)
class SetMetrics:
    """Figures of the repetitions of one muscle group, contraction and velocity.

    Peak torques are windowed (load range) and ``None`` when no repetition reached the
    velocity. ``*_per_kg`` need the body mass. Fatigue figures need at least 3 repetitions
    (work fatigue, slope) or 2 (endurance ratio); ``None`` otherwise.

    Attributes
    ----------
    direction
        The muscle group's action (e.g. ``"flexion"``).
    contraction
        ``"concentric"`` or ``"eccentric"``.
    velocity_dps
        The nominal velocity recognised from the plateau (deg/s, positive).
    peak_torque_nm, peak_torque_rep
        Best windowed peak torque (N.m) and its 1-based repetition.
    mean_peak_torque_nm
        Mean of the repetitions' windowed peaks (N.m).
    peak_torque_unwindowed_nm
        Best peak over whole movements (N.m), as most vendor software prints it.
    peak_torque_per_kg
        ``peak_torque_nm / body_mass_kg`` (N.m/kg; Biodex prints it x 100 as %).
    cv_percent
        Coefficient of variation of the windowed peaks (sample SD / mean x 100).
    total_work_j, work_per_kg
        Sum of the repetitions' work (J) and per body mass (J/kg).
    work_fatigue_percent
        100 x (work of the first third - work of the last third) / work of the first third.
    endurance_ratio
        Mean peak of the last k over the first k repetitions, k = min(5, n // 2) (fraction).
    fatigue_slope_nm_per_rep
        Least-squares slope of peak torque over repetition number (N.m per repetition).
    reps
        The repetitions, in order.
    cutoff_hz
        Low-pass cut-off (Hz) the set's torque was filtered at; ``None`` when unfiltered.
    partial_repetitions
        Repetitions marked partial (:attr:`RepetitionMetrics.partial`): counted in
        ``repetitions``, ``total_work_j`` and the best peak, left out of the mean peak, the CV
        and the fatigue indexes.
    """

    direction: str
    contraction: str
    velocity_dps: float
    repetitions: int
    peak_torque_nm: float | None
    peak_torque_rep: int | None
    mean_peak_torque_nm: float | None
    peak_torque_unwindowed_nm: float
    peak_torque_per_kg: float | None
    cv_percent: float | None
    total_work_j: float
    work_per_kg: float | None
    work_fatigue_percent: float | None
    endurance_ratio: float | None
    fatigue_slope_nm_per_rep: float | None
    reps: tuple[RepetitionMetrics, ...]
    cutoff_hz: float | None = None
    partial_repetitions: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping, repetitions included under ``reps``; an isometric set's keys are there too, ``null``."""
        out = {k: _clean(v) for k, v in self.__dict__.items() if k != "reps"}
        out |= {"angle_deg": None, "impulse_fatigue_percent": None, "contractions": []}
        out["reps"] = [r.to_dict() for r in self.reps]
        return out


def fatigue_figures(peaks_nm: Sequence[float], works_j: Sequence[float]) -> tuple[float | None, float | None, float | None]:
    """``(work_fatigue_percent, endurance_ratio, fatigue_slope_nm_per_rep)`` of a set (see :class:`SetMetrics`)."""
    n = len(works_j)
    work_fatigue = slope = endurance = None
    if n >= 3:
        third = n // 3
        first, last = float(np.sum(works_j[:third])), float(np.sum(works_j[-third:]))
        work_fatigue = 100.0 * (first - last) / first if first > 0 else None
    m = len(peaks_nm)
    if m >= 3:
        slope = float(np.polyfit(np.arange(1, m + 1), np.asarray(peaks_nm, dtype=float), 1)[0])
    if m >= 2:
        k = min(5, m // 2)
        head = float(np.mean(peaks_nm[:k]))
        endurance = float(np.mean(peaks_nm[-k:])) / head if head > 0 else None
    return work_fatigue, endurance, slope


def set_metrics(
    reps: Sequence[RepetitionMetrics],
    *,
    direction: str,
    contraction: str,
    velocity_dps: float,
    body_mass_kg: float | None = None,
    cutoff_hz: float | None = None,
) -> SetMetrics:
    """Aggregate repetitions (in order) into a set's figures; ``cutoff_hz`` is the torque's low-pass (Hz)."""
    if not reps:
        raise ValueError("a set needs at least one repetition")
    full = [r for r in reps if not r.partial]
    windowed = [r.peak_torque_nm for r in full if r.peak_torque_nm is not None]
    peak = best_rep = mean_peak = cv = per_kg = None
    if any(r.peak_torque_nm is not None for r in reps):
        best = max((r for r in reps if r.peak_torque_nm is not None), key=lambda r: r.peak_torque_nm or 0.0)
        peak, best_rep = best.peak_torque_nm, best.index
    if windowed:
        mean_peak = float(np.mean(windowed))
        if len(windowed) >= 2 and mean_peak > 0:
            cv = 100.0 * float(np.std(windowed, ddof=1)) / mean_peak
    if body_mass_kg and peak is not None:
        per_kg = peak / body_mass_kg
    total_work = float(np.sum([r.work_j for r in reps]))
    work_fatigue, endurance, slope = fatigue_figures(windowed, [r.work_j for r in full])
    return SetMetrics(
        direction=direction,
        contraction=contraction,
        velocity_dps=float(velocity_dps),
        repetitions=len(reps),
        partial_repetitions=len(reps) - len(full),
        peak_torque_nm=peak,
        peak_torque_rep=best_rep,
        mean_peak_torque_nm=mean_peak,
        peak_torque_unwindowed_nm=max(r.peak_torque_unwindowed_nm for r in reps),
        peak_torque_per_kg=per_kg,
        cv_percent=cv,
        total_work_j=total_work,
        work_per_kg=total_work / body_mass_kg if body_mass_kg else None,
        work_fatigue_percent=work_fatigue,
        endurance_ratio=endurance,
        fatigue_slope_nm_per_rep=slope,
        reps=tuple(reps),
        cutoff_hz=cutoff_hz,
    )


#: An isometric set of at least this many contractions is an endurance set: it gets the fatigue indexes.
ENDURANCE_MIN_CONTRACTIONS = 6


@dataclass(frozen=True)
class IsometricSetMetrics:
    """Figures of the contractions of one muscle group at one angle (:mod:`analysis.isometric`).

    ``direction`` is the group's action, or ``"unknown"`` when the recording's torque is
    unsigned (a HUMAC isometric export). Peaks are net of the torque at rest. An endurance
    set (at least :data:`ENDURANCE_MIN_CONTRACTIONS` contractions) gets the fatigue indexes:
    ``impulse_fatigue_percent`` (100 x (impulse of the first third - last third) / first
    third, the isometric counterpart of work fatigue), ``endurance_ratio`` (mean peak of the
    last k / first k, k = min(5, n // 2)) and ``fatigue_slope_nm_per_rep``. The JSON carries
    every key of an isokinetic set (``null`` where it has no meaning: work, velocity-based
    figures) and the contractions under ``contractions`` (``reps`` is empty).
    """

    direction: str
    angle_deg: float
    repetitions: int
    peak_torque_nm: float
    peak_torque_rep: int
    mean_peak_torque_nm: float
    peak_torque_per_kg: float | None
    cv_percent: float | None
    impulse_fatigue_percent: float | None
    endurance_ratio: float | None
    fatigue_slope_nm_per_rep: float | None
    contractions: tuple[ContractionMetrics, ...]
    cutoff_hz: float | None = None
    contraction: str = "isometric"
    velocity_dps: float = 0.0
    partial_repetitions: int = 0

    @property
    def reps(self) -> tuple[RepetitionMetrics, ...]:
        """No movements: an isometric set's contractions are :attr:`contractions`."""
        return ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping: the keys of an isokinetic set, the isometric ones and ``contractions``."""
        out = {k: _clean(v) for k, v in self.__dict__.items() if k != "contractions"}
        out |= {"peak_torque_unwindowed_nm": _clean(self.peak_torque_nm), "total_work_j": None, "work_per_kg": None,
                "work_fatigue_percent": None, "reps": [],
                "contractions": [c.to_dict() for c in self.contractions]}  # fmt: skip
        return out


def isometric_set_metrics(
    contractions: Sequence[ContractionMetrics],
    *,
    direction: str,
    body_mass_kg: float | None = None,
    cutoff_hz: float | None = None,
) -> IsometricSetMetrics:
    """Aggregate one group's contractions at one angle (in order) into a set's figures."""
    if not contractions:
        raise ValueError("a set needs at least one contraction")
    peaks = [c.peak_torque_nm for c in contractions]
    best = max(contractions, key=lambda c: c.peak_torque_nm)
    mean_peak = float(np.mean(peaks))
    cv = 100.0 * float(np.std(peaks, ddof=1)) / mean_peak if len(peaks) >= 2 and mean_peak > 0 else None
    fatigue: tuple[float | None, float | None, float | None] = (None, None, None)
    if len(contractions) >= ENDURANCE_MIN_CONTRACTIONS:
        fatigue = fatigue_figures(peaks, [c.impulse_nm_s for c in contractions])
    return IsometricSetMetrics(
        direction=direction,
        angle_deg=float(np.median([c.angle_deg for c in contractions])),
        repetitions=len(contractions),
        peak_torque_nm=best.peak_torque_nm,
        peak_torque_rep=best.index,
        mean_peak_torque_nm=mean_peak,
        peak_torque_per_kg=best.peak_torque_nm / body_mass_kg if body_mass_kg else None,
        cv_percent=cv,
        impulse_fatigue_percent=fatigue[0],
        endurance_ratio=fatigue[1],
        fatigue_slope_nm_per_rep=fatigue[2],
        contractions=tuple(contractions),
        cutoff_hz=cutoff_hz,
    )
