"""An isometric set: the lever held still at one angle while the subject contracts, with ground truth.

What the signals contain (DOMAIN.md section 2's signs)::

    torque_nm    = muscle torque + W cos(angle - horizontal) + noise
    position_deg = angle + noise;  velocity_dps = noise

Each contraction's effort command switches on at its onset for ``contraction_s`` and off
after; the muscle torque is the acting group's isometric capacity at the angle
(:meth:`simulators.profile.MuscleGroup.capacity_nm` at zero velocity) times its activation
(first-order, ``activation_time_s`` up and ``relaxation_time_s`` down, as in isokinetic sets)
times a slow decline while the effort is held, :data:`HOLD_DECLINE_PER_S` (3 % per second:
a maximal voluntary contraction peaks a few tenths of a second after onset and sags). The
command of a group's n-th contraction is ``exp(-fatigue_per_rep n)`` times the rep-to-rep
variability, as for movements, so a 24-contraction endurance set fatigues.

Truth per contraction (:class:`~simulators.truth.RepTruth`, ``contraction="isometric"``,
``movement=""``, velocity 0), from the noise-free muscle torque: the peak and its time from
onset (``start_s``, the command's onset), the angle, the rate of torque development over 0-50,
0-100 and 0-200 ms from onset (N.m/s), the best 1 s mean torque and the impulse (N.m.s, from
onset to ``end_s``, when the torque has relaxed to under 0.1 % of its peak).
"""

from __future__ import annotations

import math

import numpy as np

from simulators.joints import direction_sign
from simulators.machine import MachineSettings
from simulators.physiology import activation
from simulators.profile import SubjectProfile
from simulators.protocol import DEFAULT_ISOMETRIC_REST_S, PlannedMovement, SetProtocol
from simulators.truth import RTD_WINDOWS_S, RepTruth, SetTruth

__all__ = ["HOLD_DECLINE_PER_S", "isometric_signals"]

#: Relative decline (per second) of the torque while a maximal contraction is held.
HOLD_DECLINE_PER_S = 0.03


def _contraction_truth(
    k: int, plan: PlannedMovement, sign: int, onset_s: float, end_s: float, angle_deg: float,
    time_s: np.ndarray, muscle_nm: np.ndarray,
) -> RepTruth:
    lo = int(np.searchsorted(time_s, onset_s, side="left"))
    hi = int(np.searchsorted(time_s, end_s, side="right"))
    t, torque = time_s[lo:hi], sign * muscle_nm[lo:hi]
    i = int(np.argmax(torque))
    fs = 1.0 / float(time_s[1] - time_s[0])
    width = int(round(fs))
    best = float(np.max(np.convolve(torque, np.ones(width) / width, mode="valid"))) if len(torque) >= width else math.nan
    rtd = [float(np.interp(onset_s + w, t, torque) - np.interp(onset_s, t, torque)) / w for w in RTD_WINDOWS_S]
    return RepTruth(
        index=k, movement="", group=plan.group, contraction="isometric", velocity_dps=0.0,
        start_s=float(onset_s), end_s=float(end_s), peak_torque_nm=float(torque[i]), angle_at_peak_deg=angle_deg,
        time_to_peak_s=float(t[i] - onset_s), work_j=0.0, peak_torque_unwindowed_nm=float(torque[i]),
        angle_at_peak_unwindowed_deg=angle_deg, load_range_start_s=float(onset_s), load_range_end_s=float(end_s),
        rtd_nm_per_s=tuple(rtd), best_1s_mean_torque_nm=best,
        impulse_nm_s=float(np.sum(0.5 * (torque[1:] + torque[:-1]) * np.diff(t))),
    )  # fmt: skip


def isometric_signals(
    profile: SubjectProfile,
    protocol: SetProtocol,
    effort: np.ndarray,
    *,
    sample_rate_hz: float,
    rng: np.random.Generator,
    noise: bool,
    gravity: bool,
    machine: MachineSettings,
) -> tuple[np.ndarray, dict[str, np.ndarray], SetTruth]:
    """``(time_s, signals, truth)`` of an isometric ``protocol`` (see the module docstring).

    ``effort`` is each contraction's command level (fatigue times variability); ``signals``
    holds ``torque_nm``, ``position_deg``, ``velocity_dps``, ``muscle_torque_nm`` and ``servo_position_deg``.
    """
    pattern = str(protocol.pattern)
    angle = float(protocol.angle_deg if protocol.angle_deg is not None else 0.0)
    limb = profile.pattern(protocol.joint, pattern)
    planned = protocol.movements()
    rest_s = protocol.pause_s if protocol.pause_s > 0 else DEFAULT_ISOMETRIC_REST_S
    onsets = [protocol.rest_before_s + k * (protocol.contraction_s + rest_s) for k in range(len(planned))]
    duration = onsets[-1] + protocol.contraction_s + max(rest_s, protocol.rest_after_s)
    n = int(math.floor(duration * sample_rate_hz + 1e-9)) + 1
    time_s = np.arange(n) / sample_rate_hz
    muscle = np.zeros(n)
    ends: list[float] = []
    for k, (plan, onset) in enumerate(zip(planned, onsets)):
        release = onset + protocol.contraction_s
        act = activation(time_s, [onset, release], [float(effort[k]), 0.0],
                         rise_time_s=profile.activation_time_s, decay_time_s=profile.relaxation_time_s)
        hold = np.exp(-HOLD_DECLINE_PER_S * np.clip(time_s - onset, 0.0, protocol.contraction_s))
        sign = direction_sign(pattern, plan.group)
        capacity = float(limb.groups[protocol.side][plan.group].capacity_nm(
            np.array([angle]), np.array([0.0]), reference_velocity_dps=profile.reference_velocity_dps)[0])
        muscle += sign * capacity * act * hold
        ends.append(release + profile.relaxation_time_s * math.log(1000.0))  # relaxed to 0.1 %
    noise_sd = (machine.torque_noise_nm, machine.position_noise_deg, machine.velocity_noise_dps) if noise else (0.0,) * 3
    torque_noise, position_noise, velocity_noise = (rng.normal(0.0, sd, n) if sd > 0 else np.zeros(n) for sd in noise_sd)
    w_nm = limb.gravity_torque_nm if gravity else 0.0
    weight = w_nm * math.cos(math.radians(angle - limb.horizontal_angle_deg))
    reps = tuple(
        _contraction_truth(k, plan, direction_sign(pattern, plan.group), onset, end, angle, time_s, muscle)
        for k, (plan, onset, end) in enumerate(zip(planned, onsets, ends))
    )
    truth = SetTruth(reps=reps, gravity_torque_nm=float(w_nm), horizontal_angle_deg=limb.horizontal_angle_deg,
                     body_mass_kg=profile.body_mass_kg, joint=protocol.joint, pattern=pattern, side=protocol.side,
                     mode=protocol.mode)  # fmt: skip
    signals = {
        "torque_nm": muscle + weight + torque_noise,
        "position_deg": angle + position_noise,
        "velocity_dps": velocity_noise,
        "muscle_torque_nm": muscle,
        "servo_position_deg": np.full(n, angle),
    }
    return time_s, signals, truth
