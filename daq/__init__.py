"""Data acquisition: the serial driver, calibration, recording and vendor-export importers."""

from daq.ascii_driver import AsciiDriver
from daq.binary_driver import BinaryDriver, PingResult
from daq.calibration import CalibrationProfile, ChannelCalibration, ChannelFit, fit_channel, load_profile, save_profile
from daq.devices import DRIVERS, open_driver
from daq.driver import DeviceInfo, Driver, WrongDevice
from daq.errors import CalibrationError, DaqError, DeviceRefused, DeviceTimeout, DeviceUnavailable, RecordingFormatError
from daq.recorder import Recorder, RecordingSummary
from daq.recording import Recording, RecordingWriter, read_recording, write_recording
from daq.stats import AcquisitionStats
from daq.stream import DeviceEvent, Disconnected, Gap, Overflow, Reconnected, SampleBlock, StreamEnded, Subscription
from daq.timing import ClockSegment

__all__ = [
    "DRIVERS",
    "AcquisitionStats",
    "AsciiDriver",
    "BinaryDriver",
    "CalibrationError",
    "CalibrationProfile",
    "ChannelCalibration",
    "ChannelFit",
    "ClockSegment",
    "DaqError",
    "DeviceEvent",
    "DeviceInfo",
    "DeviceRefused",
    "DeviceTimeout",
    "DeviceUnavailable",
    "Disconnected",
    "Driver",
    "Gap",
    "Overflow",
    "PingResult",
    "Reconnected",
    "Recorder",
    "Recording",
    "RecordingFormatError",
    "RecordingSummary",
    "RecordingWriter",
    "SampleBlock",
    "StreamEnded",
    "Subscription",
    "WrongDevice",
    "fit_channel",
    "load_profile",
    "open_driver",
    "read_recording",
    "save_profile",
    "write_recording",
]
