"""Simulate one isokinetic set: signals as a dynamometer's analog outputs show them, plus ground truth.

Example
-------
>>> from simulators.model import SetProtocol, default_profile, simulate_set
>>> proto = SetProtocol(joint="knee", pattern="flexion/extension", side="left", mode="con/con",
...                     velocity_dps=60.0, repetitions=5)
>>> sim = simulate_set(default_profile(), proto, sample_rate_hz=1000.0, seed=1)
>>> len(sim.truth.reps)
10

What the signals contain (sign conventions of DOMAIN.md section 2)::

    torque_nm    = muscle torque + W cos(position - horizontal) + impact artifact + noise
    position_deg = lever position + noise;  velocity_dps = lever velocity + noise

- **Muscle torque** (:mod:`simulators.physiology`): each group's capacity at the lever's
  angle and velocity, times its activation. Activation follows an effort command that
  switches on at the onset of each movement the group acts in (activation delay:
  ``activation_time_s``, default 0.04 s) and off ``release_lead_s`` (0.02 s) before the
  lever decelerates into the range limit (relaxation: ``relaxation_time_s``, 0.03 s), or
  stays on through the reversal when the same group acts next (con/ecc, ecc/con).
  The command of a group's n-th movement (0-based) is ``exp(-fatigue_per_rep n)``
  (fatigue: at the default 0.02 a 25-repetition endurance set loses about 29 % of work
  from its first to its last third and ends at 0.67 of its first five peaks, cf. the
  fatigue indexes of DOMAIN.md section 4) times a seeded normal factor of mean 1 and
  CV ``variability_cv`` (rep-to-rep variability, default 3 %, clipped to 0.5-1.5).
- **Gravity** (Aagaard 1995, Acta Physiol Scand 154:421): the limb and lever weigh
  ``W cos(position - horizontal_angle_deg)``; W > 0 pulls toward +. Uncorrected, it
  inflates the knee's H:Q.
- **Lever and impact artifact** (:mod:`simulators.machine`): acceleration, overshoot
  braked with an inertial torque spike (Schwartz et al. 2010; Brown 2000), isokinetic
  load range, deceleration, pauses.
- **Noise**: white Gaussian, default 0.4 N.m on torque, 0.3 deg/s on velocity, 0.05 deg
  on position (:class:`simulators.machine.MachineSettings`).
- **Status** per sample: bit 0 the lever is at a range limit (resting there, and the
  first sample after each arrival so that instant reversals show), bit 1 safety stop (the
  measured torque exceeded the machine's limit: the lever stops, the subject relaxes,
  unfinished movements are left out of the truth and the bit stays set to the end).

Modes and movement order are described in :mod:`simulators.protocol`.

The whole set is computed with vectorised numpy (no per-sample loop) and is
deterministic for a given seed: an hour of 1 kHz data, set after set, takes about half
a second to generate (``bench/bench_simulate_set.py``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from simulators.isometric import isometric_signals
from simulators.joints import PATTERN_DIRECTIONS, direction_sign
from simulators.machine import Kinematics, LeverMovement, MachineSettings, Trajectory, plan_trajectory
from simulators.physiology import activation
from simulators.profile import MuscleGroup, SubjectProfile, default_profile
from simulators.protocol import PlannedMovement, SetProtocol, is_positive_number
from simulators.servo import ripple
from simulators.truth import RepTruth, SetTruth, rep_truth

__all__ = [
    "STATUS_AT_LIMIT",
    "STATUS_SAFETY_STOP",
    "PlannedMovement",
    "RepTruth",
    "SetProtocol",
    "SetTruth",
    "SimulatedSet",
    "SubjectProfile",
    "PassiveHold",
    "default_profile",
    "simulate_hold",
    "simulate_set",
]

#: Status bit: the lever is at a range limit.
STATUS_AT_LIMIT = 1
#: Status bit: the machine made a safety stop.
STATUS_SAFETY_STOP = 2


@dataclass(frozen=True, eq=False)
class SimulatedSet:
    """A simulated set: signals, their noise-free components and the ground truth.

    Attributes
    ----------
    time_s
        Sample times from 0, s.
    torque_nm, position_deg, velocity_dps
        What the machine's analog outputs show (N.m, deg, deg/s; float64).
    status
        uint8 per sample: bit 0 at range limit, bit 1 safety stop.
    truth
        Ground truth (:class:`SetTruth`).
    protocol
        The protocol simulated.
    sample_rate_hz
        Sample rate, Hz.
    muscle_torque_nm
        Noise-free net muscle torque (N.m), the basis of the truth.
    artifact_torque_nm
        Impact artifact (N.m) included in ``torque_nm``.
    servo_position_deg, servo_velocity_dps
        Noise-free lever position (deg) and velocity (deg/s).
    """

    time_s: np.ndarray
    torque_nm: np.ndarray
    position_deg: np.ndarray
    velocity_dps: np.ndarray
    status: np.ndarray
    truth: SetTruth
    protocol: SetProtocol
    sample_rate_hz: float
    muscle_torque_nm: np.ndarray = field(repr=False)
    artifact_torque_nm: np.ndarray = field(repr=False)
    servo_position_deg: np.ndarray = field(repr=False)
    servo_velocity_dps: np.ndarray = field(repr=False)


def simulate_set(
    profile: SubjectProfile,
    protocol: SetProtocol,
    *,
    sample_rate_hz: float = 1000.0,
    seed: int = 0,
    noise: bool = True,
    artifacts: bool = True,
    gravity: bool = True,
    fatigue: bool = True,
    variability: bool = True,
    machine: MachineSettings = MachineSettings(),
) -> SimulatedSet:
    """Simulate ``protocol`` performed by ``profile`` on a machine with ``machine`` settings.

    Parameters
    ----------
    profile
        The subject.
    protocol
        The set.
    sample_rate_hz
        Samples per second, Hz.
    seed
        Seed of every random draw (variability and noise): same seed, same set.
    noise
        Add sensor noise to torque, velocity and position.
    artifacts
        Simulate the velocity overshoot and its torque impact artifact.
    gravity
        Add the limb's gravitational torque (``truth.gravity_torque_nm`` is 0.0 without).
    fatigue
        Let each group's capacity decline over its movements.
    variability
        Apply the subject's rep-to-rep effort variability.
    machine
        Servo and sensor settings.

    Raises
    ------
    ValueError
        On a bad argument, a profile lacking the pattern, or a velocity the machine
        cannot reach and hold within the range.
    """
    if not is_positive_number(sample_rate_hz):
        raise ValueError(f"sample_rate_hz must be > 0, got {sample_rate_hz!r}")
    pattern = str(protocol.pattern)
    limb = profile.pattern(protocol.joint, pattern)
    planned = protocol.movements()
    assert protocol.rom_deg is not None  # resolved by SetProtocol
    if protocol.mode == "isometric":
        return _isometric(profile, protocol, sample_rate_hz=sample_rate_hz, seed=seed, noise=noise, gravity=gravity,
                          fatigue=fatigue, variability=variability, machine=machine)
    trajectory = plan_trajectory(
        [direction_sign(pattern, m.movement) for m in planned],
        [m.velocity_dps for m in planned],
        protocol.rom_deg,
        settings=machine,
        rest_before_s=protocol.rest_before_s,
        pause_s=protocol.pause_s,
        rest_after_s=protocol.rest_after_s,
        overshoot=artifacts,
    )
    n = int(math.floor(trajectory.duration_s * sample_rate_hz + 1e-9)) + 1
    time_s = np.arange(n) / sample_rate_hz
    rng = np.random.default_rng(seed)
    effort = _effort(planned, profile, rng, fatigue=fatigue, variability=variability)
    noise_sd = (machine.torque_noise_nm, machine.position_noise_deg, machine.velocity_noise_dps) if noise else (0.0,) * 3
    torque_noise, position_noise, velocity_noise = (rng.normal(0.0, sd, n) if sd > 0 else np.zeros(n) for sd in noise_sd)
    w_nm = limb.gravity_torque_nm if gravity else 0.0
    groups = limb.groups[protocol.side]

    scheduled = trajectory.movements

    speed_ripple = ripple(n, sample_rate_hz, rng, sd=machine.velocity_ripple_percent / 100.0)

    def signals(lever: Trajectory, stop_s: float | None) -> tuple[Kinematics, np.ndarray, np.ndarray, np.ndarray]:
        kin = _with_ripple(lever.evaluate(time_s), speed_ripple, sample_rate_hz)
        muscle = _muscle_torque(time_s, kin, scheduled, planned, effort, groups, profile, pattern, stop_s)
        inertia = limb.limb_inertia_kgm2
        artifact = np.where(kin.braking, -inertia * np.deg2rad(kin.acceleration_dps2), 0.0)
        if speed_ripple.any():  # the ripple's own inertial torque, wherever the lever moves
            artifact -= inertia * np.deg2rad(np.gradient(speed_ripple * kin.velocity_dps, 1.0 / sample_rate_hz))
        if kin.ringing_dps2 is not None:
            artifact += inertia * np.deg2rad(kin.ringing_dps2)
        weight = w_nm * np.cos(np.deg2rad(kin.position_deg - limb.horizontal_angle_deg))
        return kin, muscle, artifact, muscle + weight + artifact + torque_noise

    stop_s: float | None = None
    kin, muscle, artifact, torque = signals(trajectory, stop_s)
    over = np.flatnonzero(np.abs(torque) > machine.torque_limit_nm)
    if over.size:  # safety stop: the lever halts, the subject relaxes
        stop_s = float(time_s[over[0]])
        trajectory = trajectory.stopped(stop_s, deceleration_dps2=machine.stop_deceleration_dps2)
        kin, muscle, artifact, torque = signals(trajectory, stop_s)

    status = np.where(kin.at_limit, STATUS_AT_LIMIT, 0).astype(np.uint8)
    if stop_s is not None:
        status[time_s >= stop_s] |= STATUS_SAFETY_STOP
    reps = tuple(
        rep_truth(
            k,
            movement=plan.movement,
            group=plan.group,
            group_sign=direction_sign(pattern, plan.group) if plan.group else 0,
            contraction=plan.contraction,
            velocity_dps=plan.velocity_dps,
            start_s=lever.start_s,
            end_s=lever.end_s,
            load_range_start_s=lever.load_start_s,
            load_range_end_s=lever.load_end_s,
            time_s=time_s,
            muscle_torque_nm=muscle,
            position_deg=kin.position_deg,
        )
        for k, (plan, lever) in enumerate(zip(planned, trajectory.movements))
    )
    truth = SetTruth(
        reps=reps,
        gravity_torque_nm=float(w_nm),
        horizontal_angle_deg=limb.horizontal_angle_deg,
        body_mass_kg=profile.body_mass_kg,
        joint=protocol.joint,
        pattern=pattern,
        side=protocol.side,
        mode=protocol.mode,
    )
    return SimulatedSet(
        time_s=time_s,
        torque_nm=torque,
        position_deg=kin.position_deg + position_noise,
        velocity_dps=kin.velocity_dps + velocity_noise,
        status=status,
        truth=truth,
        protocol=protocol,
        sample_rate_hz=float(sample_rate_hz),
        muscle_torque_nm=muscle,
        artifact_torque_nm=artifact,
        servo_position_deg=kin.position_deg,
        servo_velocity_dps=kin.velocity_dps,
    )


def _isometric(
    profile: SubjectProfile,
    protocol: SetProtocol,
    *,
    sample_rate_hz: float,
    seed: int,
    noise: bool,
    gravity: bool,
    fatigue: bool,
    variability: bool,
    machine: MachineSettings,
) -> SimulatedSet:
    """An isometric set (:mod:`simulators.isometric`) as a :class:`SimulatedSet`."""
    rng = np.random.default_rng(seed)
    effort = _effort(protocol.movements(), profile, rng, fatigue=fatigue, variability=variability)
    time_s, sig, truth = isometric_signals(profile, protocol, effort, sample_rate_hz=sample_rate_hz, rng=rng,
                                           noise=noise, gravity=gravity, machine=machine)
    n = len(time_s)
    return SimulatedSet(
        time_s=time_s, torque_nm=sig["torque_nm"], position_deg=sig["position_deg"], velocity_dps=sig["velocity_dps"],
        status=np.zeros(n, dtype=np.uint8), truth=truth, protocol=protocol, sample_rate_hz=float(sample_rate_hz),
        muscle_torque_nm=sig["muscle_torque_nm"], artifact_torque_nm=np.zeros(n),
        servo_position_deg=sig["servo_position_deg"], servo_velocity_dps=np.zeros(n),
    )  # fmt: skip


@dataclass(frozen=True, eq=False)
class PassiveHold:
    """A relaxed limb held still by the lever, as for limb weighing.

    ``torque_nm`` is the limb + lever weight ``W cos(angle - horizontal)`` plus noise;
    ``gravity_torque_nm`` (W) and ``horizontal_angle_deg`` are the truth a weighing
    should recover.
    """

    torque_nm: np.ndarray
    position_deg: np.ndarray
    velocity_dps: np.ndarray
    gravity_torque_nm: float
    horizontal_angle_deg: float


def simulate_hold(
    profile: SubjectProfile,
    joint: str,
    pattern: str,
    *,
    angle_deg: float,
    n_samples: int,
    seed: int,
    machine: MachineSettings = MachineSettings(),
) -> PassiveHold:
    """``n_samples`` of the relaxed limb held at ``angle_deg`` (deg), with the machine's channel noise.

    Example
    -------
    >>> hold = simulate_hold(default_profile(), "knee", "flexion/extension", angle_deg=50.0, n_samples=1000, seed=1)
    >>> round(float(hold.torque_nm.mean()) / math.cos(math.radians(50.0)))
    24
    """
    limb = profile.pattern(joint, pattern)
    rng = np.random.default_rng(seed)
    weight = limb.gravity_torque_nm * math.cos(math.radians(angle_deg - limb.horizontal_angle_deg))
    return PassiveHold(
        torque_nm=weight + rng.normal(0.0, machine.torque_noise_nm, n_samples),
        position_deg=angle_deg + rng.normal(0.0, machine.position_noise_deg, n_samples),
        velocity_dps=rng.normal(0.0, machine.velocity_noise_dps, n_samples),
        gravity_torque_nm=limb.gravity_torque_nm,
        horizontal_angle_deg=limb.horizontal_angle_deg,
    )


def _with_ripple(kin: Kinematics, unit_ripple: np.ndarray, sample_rate_hz: float) -> Kinematics:
    """The lever's kinematics with the servo's speed ripple (a fraction of the speed) added, position integrated."""
    if not unit_ripple.any():
        return kin
    extra = unit_ripple * kin.velocity_dps
    position = kin.position_deg + np.concatenate([[0.0], np.cumsum(0.5 * (extra[1:] + extra[:-1]))]) / sample_rate_hz
    acceleration = kin.acceleration_dps2 + np.gradient(extra, 1.0 / sample_rate_hz)
    return replace(kin, position_deg=position, velocity_dps=kin.velocity_dps + extra, acceleration_dps2=acceleration)


def _effort(
    planned: tuple[PlannedMovement, ...],
    profile: SubjectProfile,
    rng: np.random.Generator,
    *,
    fatigue: bool,
    variability: bool,
) -> np.ndarray:
    """Effort command of each movement: fatigue of its group times rep-to-rep variability."""
    done: dict[str, int] = {}
    level = np.ones(len(planned))
    for k, plan in enumerate(planned):
        n_before = done.get(plan.group, 0)
        done[plan.group] = n_before + 1
        if fatigue:
            level[k] = math.exp(-profile.fatigue_per_rep * n_before)
    if variability and profile.variability_cv > 0:
        level *= np.clip(rng.normal(1.0, profile.variability_cv, len(planned)), 0.5, 1.5)
    return level


def _muscle_torque(
    time_s: np.ndarray,
    kin: Kinematics,
    movements: tuple[LeverMovement, ...],
    planned: tuple[PlannedMovement, ...],
    effort: np.ndarray,
    groups: Mapping[str, MuscleGroup],
    profile: SubjectProfile,
    pattern: str,
    stop_s: float | None,
) -> np.ndarray:
    """Net muscle torque (N.m): each group's capacity times its activation, signed.

    A group's effort command rises to the movement's effort at the onset of each
    movement it acts in and drops to 0 ``release_lead_s`` before the lever starts
    decelerating into the range limit (no earlier than the start of the load range):
    the subject lets go as the end of the range approaches, so torque fades through the
    deceleration instead of climbing as the lever slows. A group that also acts in the
    next movement (con/ecc, ecc/con) keeps pushing through the reversal and the pause.
    After a safety stop every command is 0.
    """
    total = np.zeros_like(time_s)
    for direction in PATTERN_DIRECTIONS[pattern]:
        changes: list[float] = []
        levels: list[float] = []
        for k, (plan, lever) in enumerate(zip(planned, movements)):
            if plan.group != direction:
                continue
            changes.append(lever.start_s)
            levels.append(float(effort[k]))
            if k + 1 == len(planned) or planned[k + 1].group != direction:
                changes.append(max(lever.load_start_s, lever.load_end_s - profile.release_lead_s))
                levels.append(0.0)
        if stop_s is not None:
            levels = [level for t, level in zip(changes, levels) if t < stop_s] + [0.0]
            changes = [t for t in changes if t < stop_s] + [stop_s]
        act = activation(
            time_s, changes, levels, rise_time_s=profile.activation_time_s, decay_time_s=profile.relaxation_time_s
        )
        sign = direction_sign(pattern, direction)
        capacity = groups[direction].capacity_nm(
            kin.position_deg, sign * kin.velocity_dps, reference_velocity_dps=profile.reference_velocity_dps
        )
        total += sign * capacity * act
    return total
