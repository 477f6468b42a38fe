"""The dynamometer's lever: servo kinematics of a set, overshoot, range limits and safety stop.

Each movement of the lever from one end of the range to the other goes through:

1. **acceleration** at ``acceleration_dps2`` from rest up to the set velocity plus the
   overshoot;
2. **overshoot**: the limb arrives faster than the set velocity and the servo brakes it
   back over ``overshoot_duration_s`` (smooth cubic return, zero slope at both ends).
   The overshoot is ``overshoot_per_100dps`` x velocity / 100 (3 % per 100 deg/s by
   default: 1.8 % at 60, 9 % at 300, 15 % at 500 deg/s). Braking the limb's inertia
   produces the torque **impact artifact** ``-I x angular acceleration``: a spike toward
   the direction of movement that grows roughly with the square of the velocity, as
   Brown 2000 and Schwartz et al. 2010 (J Sports Sci Med 9:140) describe;
3. the **isokinetic load range**, at exactly the set velocity;
4. **deceleration** at ``deceleration_dps2`` into the range limit, then an optional pause.

Default accelerations (20000 deg/s^2) are high on purpose so that the load range covers
most of a normal range even at 500 deg/s (knee, 90 deg: acceleration + overshoot
take about 24 deg and deceleration 6 deg at 500 deg/s; under 4 deg in all at 60 deg/s),
keeping the muscle's true peak inside the load range. Real machines may be gentler:
the HUMAC NORM knee recording in ``shared/data/real/humac_csv`` reaches 180 deg/s after
about 0.15 s (about 1000-1500 deg/s^2). When acceleration, overshoot and deceleration
do not fit in the range, :func:`plan_trajectory` refuses the set (``ValueError`` with
the distances) rather than simulating a movement that never reaches its velocity; when
they barely fit, the load range shrinks toward the middle of the range and the windowed
peak falls on its edge, below the unwindowed one.

Kinematics are piecewise polynomials in time, so evaluating a set of any length is a
few vectorised numpy operations.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

import numpy as np

from simulators.servo import oscillation_of, ringing, ringing_settle_s

__all__ = ["SERVO_MODELS", "Kinematics", "LeverMovement", "MachineSettings", "Trajectory", "plan_trajectory"]


@dataclass(frozen=True)
class MachineSettings:
    """Servo and sensor settings of the simulated dynamometer.

    Attributes
    ----------
    acceleration_dps2
        Acceleration from rest toward the set velocity, deg/s^2.
    deceleration_dps2
        Deceleration into the range limit, deg/s^2.
    overshoot_per_100dps
        Velocity overshoot at the end of acceleration, as a fraction of the set velocity
        per 100 deg/s of set velocity (used only when artifacts are on).
    overshoot_duration_s
        Time (s) the servo takes to brake the overshoot back to the set velocity.
    torque_noise_nm
        Standard deviation of white noise on the torque channel, N.m.
    velocity_noise_dps
        Standard deviation of white noise on the velocity channel, deg/s.
    position_noise_deg
        Standard deviation of white noise on the position channel, deg.
    torque_limit_nm
        Measured torque magnitude (N.m) above which the machine makes a safety stop
        (680 N.m, the concentric limit of a Biodex System 4).
    stop_deceleration_dps2
        Deceleration of a safety stop, deg/s^2.
    overshoot_frequency_hz, overshoot_damping
        0 Hz (default): the overshoot is braked as one smooth bump over ``overshoot_duration_s``;
        above 0: it rings as a damped oscillation of that frequency (Hz) and damping ratio
        (:mod:`simulators.servo`).
    ringing_frequency_hz, ringing_damping, ringing_gain
        Above 0 Hz: the impact artifact rings at that frequency (Hz) and damping ratio, its
        amplitude ``ringing_gain`` x the limb's inertia x the oscillation's largest deceleration.
    velocity_ripple_percent
        SD of the servo's speed ripple (3-30 Hz), % of the set velocity.
    """

    acceleration_dps2: float = 20000.0
    deceleration_dps2: float = 20000.0
    overshoot_per_100dps: float = 0.03
    overshoot_duration_s: float = 0.03
    torque_noise_nm: float = 0.4
    velocity_noise_dps: float = 0.3
    position_noise_deg: float = 0.05
    torque_limit_nm: float = 680.0
    stop_deceleration_dps2: float = 40000.0
    overshoot_frequency_hz: float = 0.0
    overshoot_damping: float = 0.4
    ringing_frequency_hz: float = 0.0
    ringing_damping: float = 0.3
    ringing_gain: float = 1.0
    velocity_ripple_percent: float = 0.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{f.name} must be a finite number >= 0, got {value!r}")
        for name in ("acceleration_dps2", "deceleration_dps2", "overshoot_duration_s", "torque_limit_nm", "stop_deceleration_dps2"):
            if getattr(self, name) == 0:
                raise ValueError(f"{name} must be > 0")
        for name in ("overshoot_damping", "ringing_damping"):
            if not 0 < getattr(self, name) < 1:
                raise ValueError(f"{name} must be between 0 and 1, got {getattr(self, name)!r}")


#: Named servos the validation grid runs (:mod:`simulators.servo` explains each setting).
SERVO_MODELS: Mapping[str, MachineSettings] = {
    # the bundled servo: fast (20000 deg/s^2), its overshoot braked as one smooth bump
    "ideal": MachineSettings(),
    # HUMAC-like: slow ramps (1000-1500 deg/s^2 in the real files), a 12 Hz overshoot, 17 Hz ringing
    "humac": MachineSettings(acceleration_dps2=1200.0, deceleration_dps2=4000.0, overshoot_frequency_hz=12.0,
                             overshoot_damping=0.5, ringing_frequency_hz=17.0, ringing_damping=0.5,
                             velocity_ripple_percent=0.5, velocity_noise_dps=1.0),
    # the independent recordings of issue 10: 1500 deg/s^2, a 10 Hz overshoot, 15 Hz ringing
    "soft": MachineSettings(acceleration_dps2=1500.0, deceleration_dps2=4000.0, overshoot_per_100dps=0.04,
                            overshoot_frequency_hz=10.0, overshoot_damping=0.45, ringing_frequency_hz=15.0,
                            ringing_damping=0.5, velocity_ripple_percent=0.5, velocity_noise_dps=1.0),
    # a stiff servo, the fast end of the recordings: 4000 deg/s^2, a 15 Hz overshoot, 20 Hz ringing
    "stiff": MachineSettings(acceleration_dps2=4000.0, deceleration_dps2=8000.0, overshoot_frequency_hz=15.0,
                             overshoot_damping=0.45, ringing_frequency_hz=20.0, ringing_damping=0.5,
                             velocity_ripple_percent=0.3, velocity_noise_dps=1.0),
}  # fmt: skip


@dataclass(frozen=True)
class LeverMovement:
    """Timing of one movement of the lever (seconds from the start of the set).

    ``sign`` is +1 toward the pattern's + direction, -1 otherwise; ``velocity_dps`` is
    the set velocity (positive). The load range is ``[load_start_s, load_end_s]``.
    """

    sign: int
    velocity_dps: float
    start_s: float
    end_s: float
    load_start_s: float
    load_end_s: float


@dataclass(frozen=True, eq=False)
class Kinematics:
    """Noise-free lever state at each sample: position (deg), velocity (deg/s),
    acceleration (deg/s^2), whether the servo is braking an overshoot, and the
    range-limit flag (see :meth:`Trajectory.evaluate`); ``ringing_dps2`` is the impact's
    ringing as an angular acceleration (the torque artifact is the limb's inertia times it,
    toward the movement), ``None`` without ringing."""

    position_deg: np.ndarray
    velocity_dps: np.ndarray
    acceleration_dps2: np.ndarray
    braking: np.ndarray
    at_limit: np.ndarray
    ringing_dps2: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class Trajectory:
    """The lever's planned motion: polynomial pieces ``p(t) = sum c_k (t - start)^k``.

    Attributes
    ----------
    starts_s
        Start time (s) of each piece, increasing.
    coefficients
        ``(pieces, 5)`` position polynomial coefficients (deg, deg/s, deg/s^2, ...).
    braking
        Per piece: True while the servo brakes an overshoot.
    holding
        Per piece: True while the lever rests at a range limit.
    movements
        The movements, in time order.
    rom_deg
        ``(min_deg, max_deg)``.
    duration_s
        Length of the whole set, s.
    oscillating
        Per piece: True for a damped oscillation around a constant velocity, whose
        coefficients are ``(position, velocity, amplitude, sigma, omega)`` (deg, deg/s, deg/s,
        1/s, rad/s; :class:`simulators.servo.Oscillation`), not a polynomial's.
    impacts
        ``(time_s, amplitude_dps2)`` of each ringing impact (signed toward the movement).
    ringing_frequency_hz, ringing_damping
        The impacts' ringing (0 Hz: none).
    """

    starts_s: np.ndarray
    coefficients: np.ndarray
    braking: np.ndarray
    holding: np.ndarray
    movements: tuple[LeverMovement, ...]
    rom_deg: tuple[float, float]
    duration_s: float
    oscillating: np.ndarray | None = None
    impacts: tuple[tuple[float, float], ...] = ()
    ringing_frequency_hz: float = 0.0
    ringing_damping: float = 0.3

    def evaluate(self, time_s: np.ndarray) -> Kinematics:
        """Lever state at ``time_s`` (s, increasing).

        ``at_limit`` is True while the lever rests at a range limit and, so that an
        instantaneous reversal is not missed, at the first sample at or after the end
        of each movement.
        """
        t = np.asarray(time_s, dtype=np.float64)
        piece = np.clip(np.searchsorted(self.starts_s, t, side="right") - 1, 0, None)
        tau = t - self.starts_s[piece]
        c = self.coefficients[piece]
        position = c[:, 0] + tau * (c[:, 1] + tau * (c[:, 2] + tau * (c[:, 3] + tau * c[:, 4])))
        velocity = c[:, 1] + tau * (2 * c[:, 2] + tau * (3 * c[:, 3] + tau * 4 * c[:, 4]))
        acceleration = 2 * c[:, 2] + tau * (6 * c[:, 3] + tau * 12 * c[:, 4])
        if self.oscillating is not None and self.oscillating.any():
            osc = self.oscillating[piece]
            amp, sigma, omega = c[osc, 2], c[osc, 3], c[osc, 4]
            tt = tau[osc]
            decay = np.exp(-sigma * tt)
            sin, cos = np.sin(omega * tt), np.cos(omega * tt)
            position[osc] = c[osc, 0] + c[osc, 1] * tt + amp * (omega - decay * (sigma * sin + omega * cos)) / (sigma**2 + omega**2)
            velocity[osc] = c[osc, 1] + amp * decay * sin
            acceleration[osc] = amp * decay * (omega * cos - sigma * sin)
        at_limit = self.holding[piece].copy()
        ends = np.searchsorted(t, [m.end_s for m in self.movements], side="left")
        at_limit[ends[ends < t.size]] = True
        ring = None
        if self.impacts and self.ringing_frequency_hz > 0:
            ring = np.zeros_like(t)
            for start, amplitude in self.impacts:
                ring += amplitude * ringing(t - start, frequency_hz=self.ringing_frequency_hz, damping=self.ringing_damping)
        return Kinematics(position, velocity, acceleration, self.braking[piece], at_limit, ring)

    def stopped(self, stop_s: float, *, deceleration_dps2: float) -> Trajectory:
        """This trajectory with a safety stop at ``stop_s``: the lever decelerates to rest
        and stays there; movements not finished by ``stop_s`` are dropped."""
        state = self.evaluate(np.array([stop_s]))
        position, velocity = float(state.position_deg[0]), float(state.velocity_dps[0])
        keep = self.starts_s < stop_s
        starts = list(self.starts_s[keep])
        coefficients = list(self.coefficients[keep])
        braking = list(self.braking[keep])
        holding = list(self.holding[keep])
        oscillating = list(self.oscillating[keep]) if self.oscillating is not None else [False] * len(starts)
        if velocity != 0.0:
            stop_time = abs(velocity) / deceleration_dps2
            starts.append(stop_s)
            coefficients.append([position, velocity, -math.copysign(deceleration_dps2, velocity) / 2, 0.0, 0.0])
            braking.append(False)
            holding.append(False)
            oscillating.append(False)
            position += velocity * stop_time / 2
            stop_s += stop_time
        starts.append(stop_s)
        coefficients.append([position, 0.0, 0.0, 0.0, 0.0])
        braking.append(False)
        holding.append(min(abs(position - r) for r in self.rom_deg) < 1e-6)
        oscillating.append(False)
        return Trajectory(
            starts_s=np.asarray(starts),
            coefficients=np.asarray(coefficients, dtype=np.float64),
            braking=np.asarray(braking),
            holding=np.asarray(holding),
            movements=tuple(m for m in self.movements if m.end_s <= stop_s),
            rom_deg=self.rom_deg,
            duration_s=self.duration_s,
            oscillating=np.asarray(oscillating, dtype=bool),
            impacts=tuple(i for i in self.impacts if i[0] < stop_s),
            ringing_frequency_hz=self.ringing_frequency_hz,
            ringing_damping=self.ringing_damping,
        )


def plan_trajectory(
    signs: Sequence[int],
    velocities_dps: Sequence[float],
    rom_deg: tuple[float, float],
    *,
    settings: MachineSettings,
    rest_before_s: float,
    pause_s: float,
    rest_after_s: float,
    overshoot: bool,
) -> Trajectory:
    """Plan the lever's motion for a sequence of alternating movements.

    Parameters
    ----------
    signs
        +1 / -1 per movement (toward the pattern's + / - direction), alternating.
    velocities_dps
        Set velocity of each movement, deg/s, positive.
    rom_deg
        ``(min_deg, max_deg)``; the lever starts at the end opposite the first movement.
    settings
        Servo settings.
    rest_before_s, pause_s, rest_after_s
        Rest at the start, pause at each end between movements, rest after the last
        movement, seconds.
    overshoot
        Whether the lever overshoots the set velocity (and so produces an impact artifact).

    Raises
    ------
    ValueError
        When a movement's acceleration, overshoot and deceleration do not fit in the range.
    """
    low, high = rom_deg
    span = high - low
    position = low if signs[0] > 0 else high
    starts: list[float] = [0.0]
    coefficients: list[list[float]] = [[position, 0.0, 0.0, 0.0, 0.0]]
    braking: list[bool] = [False]
    holding: list[bool] = [True]
    movements: list[LeverMovement] = []
    t = rest_before_s
    oscillating: list[bool] = [False]
    impacts: list[tuple[float, float]] = []
    for k, (d, v) in enumerate(zip(signs, velocities_dps, strict=True)):
        over = settings.overshoot_per_100dps * v / 100.0 if overshoot else 0.0
        if over > 0 and settings.overshoot_frequency_hz > 0:
            pieces, movement, impact = _oscillating_movement(d, v, over, t, position, span, settings)
        else:
            pieces, movement, impact = _smooth_movement(d, v, over, t, position, span, settings)
        for start, coef, is_brake, is_oscillation in pieces:
            starts.append(start)
            coefficients.append(coef)
            braking.append(is_brake)
            holding.append(False)
            oscillating.append(is_oscillation)
        movements.append(movement)
        if impact is not None:
            impacts.append(impact)
        end = movement.end_s
        position = high if d > 0 else low
        last = k + 1 == len(signs)
        rest = rest_after_s if last else pause_s
        t = end + rest
        if rest > 0 or last:
            starts.append(end)
            coefficients.append([position, 0.0, 0.0, 0.0, 0.0])
            braking.append(False)
            holding.append(True)
            oscillating.append(False)
    return Trajectory(
        starts_s=np.asarray(starts),
        coefficients=np.asarray(coefficients, dtype=np.float64),
        braking=np.asarray(braking),
        holding=np.asarray(holding),
        movements=tuple(movements),
        rom_deg=(float(low), float(high)),
        duration_s=t,
        oscillating=np.asarray(oscillating, dtype=bool),
        impacts=tuple(impacts),
        ringing_frequency_hz=settings.ringing_frequency_hz if overshoot else 0.0,
        ringing_damping=settings.ringing_damping,
    )


def _too_short(v: float, span: float, needed_deg: float) -> ValueError:
    return ValueError(
        f"{v:g} deg/s cannot be held over a {span:g} deg range: acceleration, overshoot and "
        f"deceleration need {needed_deg:.1f} deg; lower the velocity, widen the range or raise the machine's acceleration"
    )


_Pieces = list[tuple[float, list[float], bool, bool]]


def _oscillating_movement(
    d: int, v: float, over: float, t: float, position: float, span: float, settings: MachineSettings
) -> tuple[_Pieces, LeverMovement, tuple[float, float] | None]:
    """One movement whose overshoot rings (:mod:`simulators.servo`): ramp, damped oscillation, deceleration.

    Returns the pieces ``(start_s, coefficients, braking, oscillating)``, the movement (its load range
    starts when the oscillation and the impact's ringing have both decayed to
    :data:`~simulators.servo.TRANSIENT_DECAYED`; empty when deceleration comes first) and the
    ringing impact ``(time_s, amplitude_dps2)``, or ``None`` without ringing.
    """
    a, b = settings.acceleration_dps2, settings.deceleration_dps2
    osc = oscillation_of(over * v, settings.overshoot_frequency_hz, settings.overshoot_damping)
    ramp_s, ramp_deg = v / a, v * v / (2 * a)
    stop_s, stop_deg = v / b, v * v / (2 * b)
    held_s = (span - ramp_deg - stop_deg - float(osc.displacement_deg(1e9))) / v
    for _ in range(4):  # the oscillation's own displacement up to deceleration, by fixed point
        held_s = (span - ramp_deg - stop_deg - float(osc.displacement_deg(max(held_s, 0.0)))) / v
    if held_s <= osc.peak_s:
        raise _too_short(v, span, ramp_deg + stop_deg + v * osc.peak_s + float(osc.displacement_deg(osc.peak_s)))
    settle = osc.settle_s
    impact = None
    if settings.ringing_frequency_hz > 0:
        settle = max(settle, osc.peak_s + ringing_settle_s(settings.ringing_frequency_hz, settings.ringing_damping))
        impact = (t + ramp_s + osc.peak_s, d * settings.ringing_gain * osc.largest_deceleration_dps2)
    pieces: _Pieces = [
        (t, [position, 0.0, d * a / 2, 0.0, 0.0], False, False),
        (t + ramp_s, [position + d * ramp_deg, d * v, d * osc.amplitude_dps, osc.sigma, osc.omega], True, True),
        (t + ramp_s + held_s, [position + d * (span - stop_deg), d * v, -d * b / 2, 0.0, 0.0], False, False),
    ]
    end = t + ramp_s + held_s + stop_s
    return pieces, LeverMovement(d, v, t, end, t + ramp_s + settle, t + ramp_s + held_s), impact


def _smooth_movement(
    d: int, v: float, over: float, t: float, position: float, span: float, settings: MachineSettings
) -> tuple[_Pieces, LeverMovement, None]:
    """One movement of the default servo: ramp, smooth braking of the overshoot, load range, deceleration."""
    a, b = settings.acceleration_dps2, settings.deceleration_dps2
    brake_s = settings.overshoot_duration_s if over > 0 else 0.0
    v_peak = v * (1.0 + over)
    ramp_s, ramp_deg = v_peak / a, v_peak * v_peak / (2 * a)
    brake_deg = v * brake_s * (1.0 + over / 2)
    stop_s, stop_deg = v / b, v * v / (2 * b)
    constant_deg = span - ramp_deg - brake_deg - stop_deg
    if constant_deg < 0:
        raise _too_short(v, span, ramp_deg + brake_deg + stop_deg)
    constant_s = constant_deg / v
    pieces = [
        (t, [position, 0.0, d * a / 2, 0.0, 0.0], False),
        (t + ramp_s, [position + d * ramp_deg, d * v_peak, 0.0, 0.0, 0.0], True),
        (t + ramp_s + brake_s, [position + d * (ramp_deg + brake_deg), d * v, 0.0, 0.0, 0.0], False),
        (t + ramp_s + brake_s + constant_s, [position + d * (span - stop_deg), d * v, -d * b / 2, 0.0, 0.0], False),
    ]
    if brake_s > 0:
        pieces[1][1][3] = -d * v * over / brake_s**2
        pieces[1][1][4] = d * v * over / (2 * brake_s**3)
    else:
        del pieces[1]
    end = t + ramp_s + brake_s + constant_s + stop_s
    movement = LeverMovement(d, v, t, end, t + ramp_s + brake_s, t + ramp_s + brake_s + constant_s)
    return [(start, coef, is_brake, False) for start, coef, is_brake in pieces], movement, None
