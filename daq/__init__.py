"""Data acquisition: the serial driver, calibration, recording and vendor-export importers."""

from daq.errors import CalibrationError, DaqError, DeviceRefused, DeviceTimeout, DeviceUnavailable, RecordingFormatError
from daq.recording import Recording, RecordingWriter, read_recording, write_recording

__all__ = [
    "CalibrationError",
    "DaqError",
    "DeviceRefused",
    "DeviceTimeout",
    "DeviceUnavailable",
    "Recording",
    "RecordingFormatError",
    "RecordingWriter",
    "read_recording",
    "write_recording",
]
