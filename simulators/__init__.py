"""The bundled virtual dynamometer.

The physics (pure numpy, no I/O beyond profile and truth JSON):

- :mod:`simulators.joints`: canonical joints, patterns, directions, default ranges.
- :mod:`simulators.physiology`: torque-angle, torque-velocity and activation models.
- :mod:`simulators.profile`: the simulated subject (:class:`SubjectProfile`,
  :func:`default_profile`, ``profiles/default.json``).
- :mod:`simulators.machine`: the lever's servo kinematics, overshoot and safety stop.
- :mod:`simulators.truth`: ground truth per repetition (:class:`SetTruth`, :class:`RepTruth`).
- :mod:`simulators.model`: :class:`SetProtocol` and :func:`simulate_set`, which ties them together.

Example
-------
>>> from simulators import SetProtocol, default_profile, simulate_set
>>> sim = simulate_set(default_profile(), SetProtocol(joint="knee", side="left"), seed=1)
>>> round(sim.truth.reps[1].peak_torque_nm / sim.truth.reps[0].peak_torque_nm, 1)
0.5
"""

from simulators.machine import MachineSettings
from simulators.model import (
    STATUS_AT_LIMIT,
    STATUS_SAFETY_STOP,
    PlannedMovement,
    SetProtocol,
    SimulatedSet,
    simulate_set,
)
from simulators.profile import MuscleGroup, PatternProfile, SubjectProfile, default_profile
from simulators.truth import RepTruth, SetTruth

__all__ = [
    "STATUS_AT_LIMIT",
    "STATUS_SAFETY_STOP",
    "MachineSettings",
    "MuscleGroup",
    "PatternProfile",
    "PlannedMovement",
    "RepTruth",
    "SetProtocol",
    "SetTruth",
    "SimulatedSet",
    "SubjectProfile",
    "default_profile",
    "simulate_set",
]
