"""The lever's inertial torque inside a load range: a bound per joint, and the peaks it leaves untrustworthy.

The dynamometer measures the torque the limb exerts on the lever. Whenever the lever and the limb
accelerate, part of it is their inertial torque: measured = muscle + gravity - I x alpha, with ``I``
the moment of inertia of limb + lever about the joint axis (kg.m^2) and ``alpha`` the lever's angular
acceleration (rad/s^2). Inside the load range the speed is only nominally constant: on a servo that
rings (:mod:`analysis.settling`), what is left of its oscillation where the load range starts (5 % of
its first amplitude, about ``0.05 x I x B x omega``: 8-10 N.m for a knee at 400 deg/s) and its speed
ripple (0.3-0.5 % of the velocity at 3-30 Hz) accelerate the lever by some rad/s^2, and the impact's
ringing (a torque transient at 15-20 Hz with no counterpart in the speed) has not quite died out.
On the validation grid's ringing servos these put 2-18 % of the peak into the load ranges whose
windowed peaks missed the 2 % criterion (0.9 % median where it held).

``I`` cannot be told reliably from a recording (measured against the simulator's 0.65 kg.m^2 over the
validation grid's 180 ringing-servo sets; analysis/README.md gives the numbers): a least-squares fit of
the torque on the acceleration, a cubic per movement standing for the muscle, came out anywhere from
-0.7 to 1.7 kg.m^2 (5th-95th percentiles) over the settled load ranges, from the speed's arrival to
its deceleration or over the ramps, and 0.15-0.79 even on a passive (CPM) set where no muscle acts: the impact's ringing follows the same braking as the acceleration and correlates with it
(fitted to the simulator's artifact alone, the true acceleration gives 0.74-1.25). Compensating with
the true 0.65 would still leave 31 of the grid's 833 measured repetitions over the 2 % criterion (the
ringing, which the speed does not show). So the analysis does not compensate; it bounds. ``I`` is at
most :func:`default_inertia_kgm2`: the limb segment's inertia about the joint from Winter's
anthropometric table for a tall subject of the recording's body mass (100 kg when unknown), plus a
typical attachment's (``AnalysisOptions.inertia_kgm2`` overrides both with a lab's own figure).

:func:`inertial_reasons` then bounds, at every sample of a repetition's load range where the servo
holds the velocity, the torque the muscle did not make:

    I x |alpha|  +  I x B x Omega x exp(-sigma tau)

``alpha`` the derivative of the speed low-passed as the torque is (so both hold the same band), and
the second term the envelope of the servo oscillation's acceleration (``B``, ``sigma``, ``Omega =
hypot(sigma, omega)`` fitted on the set's pooled speed, ``tau`` the time since the speed first
reached the set velocity): the impact's ringing, taken to be no larger than the inertial torque of
the braking that set it off and to die out no slower than the servo's oscillation (so it is on
the simulator's servos). With that bound ``b(k)`` around the filtered torque ``m(k)``, the muscle's
windowed peak lies between ``max(m - b)`` and ``max(m + b)``; when that moves the reported peak by
more than ``inertial_torque_percent`` (1 %, half the 2 % criterion), its windowed figures are left
null with the reason, as measurability's are. The deceleration that ends every load range (the
servo braking into the end of the range; the load range's speed tolerance lets its first 10 % in)
is not bounded here: it is the same on every servo, and the simulator leaves its inertial torque
out. Only servos that ring are judged, as in :mod:`analysis.measurability`; a load range found by
the speed alone is left as it was.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from analysis.errors import UnknownJointError
from analysis.segmentation import Movement
from analysis.segments import Segments
from analysis.settling import Settling, arrival_offsets, settling_of
from analysis.stats import median

__all__ = ["BOUND_HEIGHT_M", "DEFAULT_BODY_MASS_KG", "LEVER_INERTIA_KGM2", "default_inertia_kgm2", "inertial_reasons"]


@dataclass(frozen=True)
class _Segment:
    """A limb segment in Winter 2009, Table 4.1: mass (fraction of body mass), length (fraction of height,
    Drillis & Contini as in Winter's Fig. 4.1) and radius of gyration about its proximal joint (fraction of length)."""

    mass_fraction: float
    length_fraction: float
    gyration_proximal: float

    def inertia_per_kg(self, height_m: float) -> float:
        """Moment of inertia about the proximal joint per kg of body mass, kg.m^2/kg."""
        return self.mass_fraction * (self.gyration_proximal * self.length_fraction * height_m) ** 2


# Winter DA (2009) Biomechanics and Motor Control of Human Movement, 4th ed., Table 4.1 (from Dempster's cadavers).
_FOOT_AND_LEG = _Segment(0.061, 0.246, 0.735)  # femoral condyles to medial malleolus (knee height 0.285 H - 0.039 H)
_TOTAL_LEG = _Segment(0.161, 0.491, 0.560)  # greater trochanter (0.530 H) to medial malleolus, the knee extended
_TOTAL_ARM = _Segment(0.050, 0.332, 0.645)  # glenohumeral joint to ulnar styloid (upper arm 0.186 H + forearm 0.146 H)
_FOREARM_AND_HAND = _Segment(0.022, 0.146, 0.827)  # elbow axis to ulnar styloid
_HAND = _Segment(0.006, 0.108, 0.587)  # the whole hand's length (Winter's segment ends at the middle knuckle: a bound)
_FOOT = _Segment(0.0145, 0.152, 0.690)  # the whole foot's length (Winter's ends at metatarsal II's head: a bound)

#: Height (m) of the subject the limb's inertia is taken for: tall, so that the default is an upper bound.
BOUND_HEIGHT_M = 1.90
#: Body mass (kg) the limb's inertia is taken for when the recording does not give one.
DEFAULT_BODY_MASS_KG = 100.0

#: (joint, pattern) -> the segment the dynamometer moves about that joint.
_SEGMENTS: Mapping[tuple[str, str], _Segment] = {
    ("knee", "flexion/extension"): _FOOT_AND_LEG,
    ("hip", "flexion/extension"): _TOTAL_LEG,
    ("hip", "abduction/adduction"): _TOTAL_LEG,
    ("shoulder", "flexion/extension"): _TOTAL_ARM,
    ("shoulder", "abduction/adduction"): _TOTAL_ARM,
    # the forearm and hand, at 90 deg of elbow flexion, swing about the upper arm's long axis
    ("shoulder", "external/internal rotation"): _FOREARM_AND_HAND,
    ("elbow", "flexion/extension"): _FOREARM_AND_HAND,
    ("wrist", "flexion/extension"): _HAND,
    ("ankle", "plantarflexion/dorsiflexion"): _FOOT,
    # about the foot's long axis it is far less; the transverse axis's figure is kept as a bound
    ("ankle", "inversion/eversion"): _FOOT,
}

#: (joint, pattern) -> the attachment's inertia (kg.m^2) on the limb's side of the torque sensor: the project's
#: estimate of a typical lever and pad, a bar of the given mass spread along its length (m L^2 / 3), not a
#: published figure (vendors do not publish one; measure your own machine's by moving the empty lever).
LEVER_INERTIA_KGM2: Mapping[tuple[str, str], float] = {
    ("knee", "flexion/extension"): 0.17,  # 2.5 kg along 0.45 m
    ("hip", "flexion/extension"): 0.30,  # 2.5 kg along 0.6 m
    ("hip", "abduction/adduction"): 0.30,
    ("shoulder", "flexion/extension"): 0.30,
    ("shoulder", "abduction/adduction"): 0.30,
    ("shoulder", "external/internal rotation"): 0.09,  # 1.5 kg along 0.3 m, a 0.5 kg handle at its end
    ("elbow", "flexion/extension"): 0.09,
    ("wrist", "flexion/extension"): 0.01,  # a 0.5 kg handle about 0.1 m out, its bar
    ("ankle", "plantarflexion/dorsiflexion"): 0.03,  # a 3 kg foot plate within 0.1 m of the axis
    ("ankle", "inversion/eversion"): 0.03,
}


def default_inertia_kgm2(joint: str, pattern: str, body_mass_kg: float | None = None) -> float:
    """Upper bound of the limb + lever moment of inertia about ``joint`` for ``pattern`` (kg.m^2).

    The limb segment's inertia about the joint (Winter 2009, Table 4.1) for a subject of
    ``body_mass_kg`` (:data:`DEFAULT_BODY_MASS_KG` when ``None``) and :data:`BOUND_HEIGHT_M`, plus
    :data:`LEVER_INERTIA_KGM2`. A knee: 0.54 + 0.17 = 0.71 kg.m^2 at 75 kg, 0.89 at 100 kg.

    Raises
    ------
    UnknownJointError
        A joint and pattern not in the table.
    """
    segment = _SEGMENTS.get((joint, pattern))
    if segment is None:
        raise UnknownJointError(f"no limb inertia for {joint} {pattern}")
    mass = DEFAULT_BODY_MASS_KG if body_mass_kg is None else body_mass_kg
    return segment.inertia_per_kg(BOUND_HEIGHT_M) * mass + LEVER_INERTIA_KGM2[(joint, pattern)]


#: The speed holds the set velocity while within this many robust SDs of its spread over the load range (below it
#: the deceleration has begun).
_HOLD_SDS = 3.0


def _held_end(speed_dps: np.ndarray, nominal_dps: float) -> int:
    """How many samples of a load range's (filtered) speed come before its deceleration into the end of the range."""
    deviation = speed_dps - nominal_dps
    spread = 1.4826 * median(np.abs(deviation - median(deviation)))
    held = np.flatnonzero(speed_dps >= nominal_dps - _HOLD_SDS * spread)
    return int(held[-1]) + 1 if len(held) else len(speed_dps)


def _ringing_envelope_rad_s2(settling: Settling, nominal_dps: float, tau_s: np.ndarray) -> np.ndarray:
    """The envelope ``B Omega exp(-sigma tau)`` of the servo oscillation's angular acceleration (rad/s^2)."""
    sigma, omega = settling.sigma, 2.0 * math.pi * settling.frequency_hz
    peak_s = math.atan2(omega, sigma) / omega
    amplitude = settling.overshoot * nominal_dps / (math.exp(-sigma * peak_s) * math.sin(omega * peak_s))
    return np.asarray(math.radians(amplitude) * math.hypot(sigma, omega) * np.exp(-sigma * np.clip(tau_s, 0.0, None)))


def inertial_reasons(
    windows: Sequence[tuple[int, int] | None],
    uncertainties: Sequence[int],
    movements: Sequence[Movement],
    speed_dps: np.ndarray,
    segments: Segments,
    nominal_dps: Sequence[float],
    velocity_groups: Sequence[int],
    group_signs: Sequence[int],
    load_torques_nm: Sequence[np.ndarray],
    filtered_velocity: Callable[[list[tuple[int, int]]], list[np.ndarray]],
    fs: float,
    *,
    inertia_kgm2: float,
    inertial_torque_percent: float,
    tolerance: float,
    overshoot: float,
) -> list[str | None]:
    """Why each movement's windowed peak cannot be trusted for the lever's inertial torque, or ``None``.

    Parameters
    ----------
    windows
        Each movement's load range (sample offsets from its start), or ``None``.
    uncertainties
        How many samples each load range's start is uncertain by; only those above 0 (a ringing
        servo's settled start, :func:`analysis.repetition.load_ranges`) are judged.
    movements
        The movements (first sample, stop, direction).
    speed_dps, segments
        The movements' unfiltered speeds (deg/s, positive) end to end, and where each one lies in them.
    nominal_dps, velocity_groups
        Each movement's set velocity (deg/s) and the label of its set velocity (both directions), as
        the load ranges were found with.
    group_signs
        Each movement's muscle group sign (+1/-1).
    load_torques_nm
        Each movement's torque low-passed over its load range (N.m, the recording's sign).
    filtered_velocity
        Returns the recording's velocity low-passed as the torque is, over each of the given ``(start, stop)``
        recording sample ranges (one per movement, at its torque's cut-off).
    fs
        Sample rate, Hz.
    inertia_kgm2
        Upper bound of the limb + lever moment of inertia, kg.m^2.
    inertial_torque_percent
        The most the bound may move the peak, % of it.
    tolerance, overshoot
        As the load ranges were found with (fractions; :func:`analysis.settling.servo_settling`).
    """
    reasons: list[str | None] = [None] * len(windows)
    judged = {i for i, (w, u) in enumerate(zip(windows, uncertainties)) if w is not None and u > 0}
    if not judged or inertia_kgm2 <= 0:
        return reasons
    nominal = np.asarray(nominal_dps, dtype=np.float64)
    arrivals = arrival_offsets(speed_dps, segments, nominal)
    labels = np.asarray(velocity_groups)
    settlings: dict[int, Settling | None] = {}
    for g in sorted({velocity_groups[i] for i in judged}):
        settlings[g] = settling_of(speed_dps, segments, nominal, np.flatnonzero(labels == g), fs, tolerance=tolerance,
                                   overshoot=overshoot, jackknife=False, arrival=arrivals)
    # the speed over each judged movement, to find where its deceleration begins; then up to there, from the
    # movement's start so that the load range's start is not a filter edge
    smooth = filtered_velocity([(m.start, m.stop if i in judged else m.start) for i, m in enumerate(movements)])
    held: dict[int, int] = {}
    for i in sorted(judged):
        a, b = windows[i] or (0, 0)
        held[i] = a + max(1, _held_end(movements[i].sign * smooth[i][a:b], nominal_dps[i]))
    held_speeds = filtered_velocity([(m.start, m.start + held.get(i, 0)) for i, m in enumerate(movements)])
    for i in sorted(judged):
        settling, window = settlings[velocity_groups[i]], windows[i]
        arrival = float(arrivals[i])
        if settling is None or window is None or not np.isfinite(arrival):
            continue
        a, b = window
        alpha = np.abs(np.radians(np.gradient(held_speeds[i], 1.0 / fs)))[a : held[i]]
        envelope = _ringing_envelope_rad_s2(settling, nominal_dps[i], (np.arange(a, held[i]) - arrival) / fs)
        bound = np.zeros(b - a)
        bound[: held[i] - a] = inertia_kgm2 * (alpha + envelope)
        torque = group_signs[i] * load_torques_nm[i]
        peak = float(np.max(torque))
        if peak <= 0:
            continue
        above, below = float(np.max(torque + bound)) - peak, peak - float(np.max(torque - bound))
        moved = 100.0 * max(above, below) / peak
        if moved > inertial_torque_percent:
            k = int(np.argmax(torque + bound)) if above >= below else int(np.argmax(torque - bound))
            reasons[i] = (f"the lever's inertial torque could move the peak by {moved:.1f} % (over "
                          f"{inertial_torque_percent:g} %): up to {bound[k]:.1f} N.m where the torque is highest, a limb + "
                          f"lever inertia of up to {inertia_kgm2:.2f} kg.m^2 times the servo's oscillation and speed ripple, "
                          "and the impact's ringing")
    return reasons
