"""Errors of the data-acquisition side.

::

    DaqError                      root of everything daq raises on purpose
    +-- DeviceUnavailable         the port cannot be opened, or the device went away
    +-- DeviceTimeout             the device did not answer in time
    +-- DeviceRefused             the device answered a command with a NAK (carries the error code)
    +-- CalibrationError          a calibration profile is missing, malformed or cannot be fitted
    +-- RecordingFormatError      a recording or vendor export cannot be read (names the file)

Lower-level errors (``serial.SerialException``, ``OSError``) are re-raised as these
``from err``. Bad arguments stay ``ValueError``. Nothing here knows about HTTP:
``api`` maps these to statuses in one place.
"""

from __future__ import annotations

__all__ = [
    "CalibrationError",
    "DaqError",
    "DeviceRefused",
    "DeviceTimeout",
    "DeviceUnavailable",
    "RecordingFormatError",
]


class DaqError(Exception):
    """Root of the data-acquisition errors."""


class DeviceUnavailable(DaqError):
    """The device cannot be opened or has gone away."""


class DeviceTimeout(DaqError):
    """The device did not answer in time."""


class DeviceRefused(DaqError):
    """The device refused a command (NAK)."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


class CalibrationError(DaqError):
    """A calibration profile is missing, malformed or cannot be fitted."""


class RecordingFormatError(DaqError):
    """A recording or vendor export cannot be read; the message names the file and the problem."""
