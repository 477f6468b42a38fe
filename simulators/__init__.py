"""The bundled virtual dynamometer.

The physics (pure numpy, no I/O beyond profile and truth JSON):

- :mod:`simulators.joints`: canonical joints, patterns, directions, default ranges.
- :mod:`simulators.physiology`: torque-angle, torque-velocity and activation models.
- :mod:`simulators.profile`: the simulated subject (:class:`SubjectProfile`,
  :func:`default_profile`, ``profiles/default.json``).
- :mod:`simulators.machine`: the lever's servo kinematics, overshoot and safety stop.
- :mod:`simulators.truth`: ground truth per repetition (:class:`SetTruth`, :class:`RepTruth`).
- :mod:`simulators.model`: :class:`SetProtocol` and :func:`simulate_set`, which ties them together.

The board that streams it (protocols, real-time pacing, faults, transports):

- :mod:`simulators.device`: :class:`~simulators.device.SimulatedDevice`, the binary/ASCII state machine;
  :mod:`simulators.adc` its +-5 V 16-bit converter; :mod:`simulators.source` the model's sets as counts.
- :mod:`simulators.pacing`, :mod:`simulators.faults`, :mod:`simulators.transports`: the real-time loop,
  seeded fault injection, and the pty / TCP / in-process endpoints; :mod:`simulators.session` ties them
  together for ``isokin sim`` and the ``sim://`` URL (:func:`register_url_handler`);
  :mod:`simulators.emitted` logs every emitted sample and whether it reached the host.

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
    "register_url_handler",
    "simulate_set",
]


def register_url_handler() -> None:
    """Make ``serial.serial_for_url("sim://...")`` open an in-process simulated device.

    Adds ``simulators.urlhandler`` to pyserial's ``protocol_handler_packages`` once;
    see :mod:`simulators.urlhandler.protocol_sim` for the URL's options.
    """
    import serial

    if "simulators.urlhandler" not in serial.protocol_handler_packages:
        serial.protocol_handler_packages.append("simulators.urlhandler")
