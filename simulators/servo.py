"""Realistic servos: an overshoot that rings as a damped oscillation, an impact artifact that rings, speed ripple.

The bundled default servo (:class:`~simulators.machine.MachineSettings` as it comes) accelerates at
20000 deg/s^2 and brakes its overshoot as one smooth bump. Real machines do not: independent
recordings at 300 deg/s show the speed overshooting as a damped oscillation of 10-15 Hz after
accelerating at 1500-4000 deg/s^2 (real HUMAC files show 1000-1500), and the torque an impact
artifact that rings at 15-20 Hz. These settings make the simulator run such servos:

- ``overshoot_frequency_hz`` > 0: after the ramp reaches the set velocity ``v`` the speed goes on
  as ``v + B exp(-sigma t) sin(omega t)`` (``omega`` = 2 pi x the frequency, ``sigma`` from the
  damping ratio ``overshoot_damping``), ``B`` such that the first peak overshoots by
  ``overshoot_per_100dps`` x v / 100 of v; the limb's inertia times that acceleration is
  the torque's inertial artifact (as the default servo's braking spike is);
- ``ringing_frequency_hz`` > 0: from the overshoot's peak (the impact: the servo starts braking
  the limb) the torque also rings as ``A exp(-sigma_r t) sin(omega_r t)`` toward the movement,
  ``A`` = ``ringing_gain`` x the limb's inertia x the oscillation's largest deceleration;
- ``velocity_ripple_percent`` > 0: the lever's speed fluctuates around the set velocity by that
  SD (% of it), band-limited to 3-30 Hz (a servo's control ripple), its inertial torque included;
- ``velocity_noise_dps``: the velocity channel's own noise, as before.

**Load range** (the truth's isokinetic phase) of such a servo: from the moment both transients,
the speed's oscillation and the torque's ringing, have decayed to :data:`TRANSIENT_DECAYED` (5 %)
of their first amplitude (three time constants) to the start of deceleration; empty when the
range ends first (at 500 deg/s a knee's range is mostly acceleration and settling: the peak is
then not measurable, and the truth says so with NaN).

:data:`simulators.machine.SERVO_MODELS` names the servos the validation grid runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["TRANSIENT_DECAYED", "Oscillation", "oscillation_of", "ringing", "ringing_settle_s", "ripple"]

#: A transient counts as over once its envelope is under this fraction of its first amplitude.
TRANSIENT_DECAYED = 0.05


@dataclass(frozen=True)
class Oscillation:
    """A damped oscillation ``B exp(-sigma t) sin(omega t)`` (deg/s) and its derived timings (s)."""

    amplitude_dps: float
    sigma: float
    omega: float
    peak_s: float

    def displacement_deg(self, t: np.ndarray | float) -> np.ndarray:
        """The oscillation's integral from 0 to ``t``: its contribution to the position (deg)."""
        tt = np.asarray(t, dtype=np.float64)
        s, w = self.sigma, self.omega
        return np.asarray(self.amplitude_dps * (w - np.exp(-s * tt) * (s * np.sin(w * tt) + w * np.cos(w * tt))) / (s * s + w * w))

    def speed_dps(self, t: np.ndarray) -> np.ndarray:
        return np.asarray(self.amplitude_dps * np.exp(-self.sigma * t) * np.sin(self.omega * t))

    def acceleration_dps2(self, t: np.ndarray) -> np.ndarray:
        s, w = self.sigma, self.omega
        return np.asarray(self.amplitude_dps * np.exp(-s * t) * (w * np.cos(w * t) - s * np.sin(w * t)))

    @property
    def settle_s(self) -> float:
        """Time for the envelope to fall to :data:`TRANSIENT_DECAYED` of ``B``."""
        return math.log(1.0 / TRANSIENT_DECAYED) / self.sigma

    @property
    def largest_deceleration_dps2(self) -> float:
        """The largest deceleration after the first peak (deg/s^2, positive): where the servo brakes hardest."""
        t = self.peak_s + np.linspace(0.0, 2.0 * math.pi / self.omega, 200)
        return float(np.max(-self.acceleration_dps2(t)))


def oscillation_of(overshoot_dps: float, frequency_hz: float, damping: float) -> Oscillation:
    """The oscillation whose first peak is ``overshoot_dps`` (deg/s) at ``frequency_hz`` (Hz, damped) and damping ratio."""
    if not 0 < damping < 1:
        raise ValueError(f"overshoot damping must be between 0 and 1, got {damping}")
    omega = 2.0 * math.pi * frequency_hz
    sigma = damping * omega / math.sqrt(1.0 - damping * damping)
    peak_s = math.atan2(omega, sigma) / omega
    unit_peak = math.exp(-sigma * peak_s) * math.sin(omega * peak_s)
    return Oscillation(overshoot_dps / unit_peak, sigma, omega, peak_s)


def ringing(t: np.ndarray, *, frequency_hz: float, damping: float) -> np.ndarray:
    """Unit ringing ``exp(-sigma t) sin(omega t)`` for ``t >= 0`` (0 before)."""
    omega = 2.0 * math.pi * frequency_hz
    sigma = damping * omega / math.sqrt(1.0 - damping * damping)
    return np.where(t >= 0, np.exp(-sigma * np.clip(t, 0.0, None)) * np.sin(omega * np.clip(t, 0.0, None)), 0.0)


def ringing_settle_s(frequency_hz: float, damping: float) -> float:
    """Time (s) for a ringing's envelope to fall to :data:`TRANSIENT_DECAYED` of its start."""
    omega = 2.0 * math.pi * frequency_hz
    return math.log(1.0 / TRANSIENT_DECAYED) / (damping * omega / math.sqrt(1.0 - damping * damping))


def ripple(n: int, sample_rate_hz: float, rng: np.random.Generator, *, sd: float) -> np.ndarray:
    """``n`` samples of band-limited (3-30 Hz) noise of SD ``sd``: a servo's speed ripple, in the caller's unit."""
    if sd <= 0 or n < 8:
        return np.zeros(n)
    spectrum = np.fft.rfft(rng.normal(0.0, 1.0, n))
    f = np.fft.rfftfreq(n, 1.0 / sample_rate_hz)
    spectrum[(f < 3.0) | (f > 30.0)] = 0.0
    shaped = np.fft.irfft(spectrum, n)
    scale = float(np.std(shaped))
    return np.asarray(shaped * (sd / scale)) if scale > 0 else np.zeros(n)
