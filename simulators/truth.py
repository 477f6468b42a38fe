"""Ground truth of a simulated set: what an ideal analysis of its signals must find.

Every figure comes from the **muscle torque** alone (noise-free, without gravity and
without the impact artifact), signed toward the acting group so that peaks and work are
positive magnitudes, evaluated at the simulation's own samples:

- ``peak_torque_nm``, ``angle_at_peak_deg``, ``time_to_peak_s``: largest muscle torque
  within the isokinetic load range (``load_range_start_s`` .. ``load_range_end_s``,
  where the servo holds exactly the set velocity: acceleration, overshoot and
  deceleration excluded). Time to peak counts from movement onset (``start_s``). NaN
  (``null`` in JSON) when the load range holds no sample (extreme settings only).
- ``peak_torque_unwindowed_nm``, ``angle_at_peak_unwindowed_deg``: largest muscle torque
  over the whole movement (``start_s`` .. ``end_s``).
- ``work_j``: magnitude of the trapezoidal integral of the muscle torque over the
  lever's angle in radians, over the whole movement.

Angles are the lever's noise-free position. The analysis side validates against these.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import MISSING, asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["RTD_WINDOWS_S", "RepTruth", "SetTruth", "rep_truth"]

#: Windows (s from onset) of the rate of torque development of isometric contractions.
RTD_WINDOWS_S = (0.05, 0.1, 0.2)


@dataclass(frozen=True)
class RepTruth:
    """Ground truth of one movement (one repetition in one direction).

    Attributes
    ----------
    index
        0-based position in the set, in time order.
    movement
        Direction the limb moves toward (e.g. ``"flexion"``).
    group
        Direction name of the acting muscle group.
    contraction
        ``"concentric"`` or ``"eccentric"``.
    velocity_dps
        Nominal set velocity, deg/s, positive.
    start_s, end_s
        Movement onset and stop, s.
    peak_torque_nm
        Peak muscle torque within the load range, N.m, positive.
    angle_at_peak_deg
        Lever position at that peak, deg.
    time_to_peak_s
        Time from ``start_s`` to that peak, s.
    work_j
        Work of the muscle torque over the whole movement, J, positive.
    peak_torque_unwindowed_nm, angle_at_peak_unwindowed_deg
        Peak muscle torque (N.m) and its angle (deg) over the whole movement.
    load_range_start_s, load_range_end_s
        Bounds of the isokinetic load range, s.
    rtd_nm_per_s, best_1s_mean_torque_nm, impulse_nm_s
        Isometric contractions only (:mod:`simulators.isometric`): rate of torque development
        over each of :data:`RTD_WINDOWS_S` from onset (N.m/s), the best 1 s mean torque (N.m)
        and the impulse (N.m.s). A passive movement has ``group`` ``""`` and
        ``contraction`` ``"passive"``; an isometric contraction ``movement`` ``""``.
    """

    index: int
    movement: str
    group: str
    contraction: str
    velocity_dps: float
    start_s: float
    end_s: float
    peak_torque_nm: float
    angle_at_peak_deg: float
    time_to_peak_s: float
    work_j: float
    peak_torque_unwindowed_nm: float
    angle_at_peak_unwindowed_deg: float
    load_range_start_s: float
    load_range_end_s: float
    rtd_nm_per_s: tuple[float, ...] = ()
    best_1s_mean_torque_nm: float = math.nan
    impulse_nm_s: float = math.nan

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; NaN becomes ``None``."""
        out = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in asdict(self).items()}
        out["rtd_nm_per_s"] = list(self.rtd_nm_per_s)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RepTruth:
        """Inverse of :meth:`to_dict`."""
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in data:
                if f.default is not MISSING:
                    continue
                raise ValueError(f"rep truth: missing field {f.name!r}")
            value = data[f.name]
            if f.type == "float":
                value = math.nan if value is None else float(value)
            elif f.type == "int":
                value = int(value)
            elif f.name == "rtd_nm_per_s":
                value = tuple(math.nan if v is None else float(v) for v in value)
            kwargs[f.name] = value
        return cls(**kwargs)


@dataclass(frozen=True)
class SetTruth:
    """Ground truth of a simulated set.

    Attributes
    ----------
    reps
        One :class:`RepTruth` per movement, in time order.
    gravity_torque_nm
        W, limb + lever gravitational torque with the segment horizontal (N.m; > 0
        pulls toward +), 0.0 when the set was simulated without gravity. Muscle torque
        = measured - W cos(position - horizontal_angle_deg).
    horizontal_angle_deg
        Position (deg) at which the segment is horizontal.
    body_mass_kg
        Subject's body mass, kg.
    joint, pattern, side, mode
        Canonical names of the set.
    """

    reps: tuple[RepTruth, ...]
    gravity_torque_nm: float
    horizontal_angle_deg: float
    body_mass_kg: float
    joint: str
    pattern: str
    side: str
    mode: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (NaN as ``None``)."""
        out: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "reps"}
        out["reps"] = [rep.to_dict() for rep in self.reps]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SetTruth:
        """Inverse of :meth:`to_dict`; ``ValueError`` on a missing field."""
        missing = [f.name for f in fields(cls) if f.name not in data]
        if missing:
            raise ValueError(f"set truth: missing field {missing[0]!r}")
        return cls(
            reps=tuple(RepTruth.from_dict(rep) for rep in data["reps"]),
            gravity_torque_nm=float(data["gravity_torque_nm"]),
            horizontal_angle_deg=float(data["horizontal_angle_deg"]),
            body_mass_kg=float(data["body_mass_kg"]),
            joint=str(data["joint"]),
            pattern=str(data["pattern"]),
            side=str(data["side"]),
            mode=str(data["mode"]),
        )

    def to_json(self, path: str | os.PathLike[str] | None = None) -> str:
        """The truth as indented JSON text; also written to ``path`` when given."""
        text = json.dumps(self.to_dict(), indent=2) + "\n"
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    @classmethod
    def from_json(cls, path: str | os.PathLike[str]) -> SetTruth:
        """Read a truth file written by :meth:`to_json`."""
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


def rep_truth(
    index: int,
    *,
    movement: str,
    group: str,
    group_sign: int,
    contraction: str,
    velocity_dps: float,
    start_s: float,
    end_s: float,
    load_range_start_s: float,
    load_range_end_s: float,
    time_s: np.ndarray,
    muscle_torque_nm: np.ndarray,
    position_deg: np.ndarray,
) -> RepTruth:
    """Measure one movement's truth from the sampled, noise-free muscle torque.

    ``group_sign`` is +1 when the acting group pulls toward the pattern's + direction.
    Samples are those with ``start_s <= t <= end_s`` (load range likewise).
    """
    lo = int(np.searchsorted(time_s, start_s, side="left"))
    hi = int(np.searchsorted(time_s, end_s, side="right"))
    torque = group_sign * muscle_torque_nm[lo:hi]
    angle = position_deg[lo:hi]
    t = time_s[lo:hi]
    work = abs(float(np.sum(0.5 * (torque[1:] + torque[:-1]) * np.diff(np.deg2rad(angle)))))
    i_all = int(np.argmax(torque)) if torque.size else -1
    in_load = np.flatnonzero((t >= load_range_start_s) & (t <= load_range_end_s))
    if in_load.size:
        i = int(in_load[np.argmax(torque[in_load])])
        peak, angle_at, ttp = float(torque[i]), float(angle[i]), float(t[i] - start_s)
    else:
        peak = angle_at = ttp = math.nan
    return RepTruth(
        index=index,
        movement=movement,
        group=group,
        contraction=contraction,
        velocity_dps=float(velocity_dps),
        start_s=float(start_s),
        end_s=float(end_s),
        peak_torque_nm=peak,
        angle_at_peak_deg=angle_at,
        time_to_peak_s=ttp,
        work_j=work,
        peak_torque_unwindowed_nm=float(torque[i_all]) if i_all >= 0 else math.nan,
        angle_at_peak_unwindowed_deg=float(angle[i_all]) if i_all >= 0 else math.nan,
        load_range_start_s=float(load_range_start_s),
        load_range_end_s=float(load_range_end_s),
    )
