"""Drivers by protocol name, and one call to open a device."""

from __future__ import annotations

from daq.ascii_driver import AsciiDriver
from daq.binary_driver import BinaryDriver
from daq.calibration import CalibrationProfile
from daq.driver import Driver

__all__ = ["DRIVERS", "open_driver"]

#: protocol name -> driver class.
DRIVERS: dict[str, type[Driver]] = {"binary": BinaryDriver, "ascii": AsciiDriver}


def open_driver(url: str, *, protocol: str = "binary", calibration: CalibrationProfile | None, **options: object) -> Driver:
    """Open the device at ``url`` with the driver of ``protocol`` and identify it.

    ``options`` are the driver's keyword parameters (``sample_rate_hz``,
    ``reconnect_timeout_s``, ``command_timeout_s``, ``baudrate``; ASCII: ``send_commands``).

    Raises
    ------
    ValueError
        Unknown protocol or bad URL.
    DeviceUnavailable, DeviceTimeout
        The port cannot be opened, or a binary device does not answer HELLO.
    """
    try:
        cls = DRIVERS[protocol]
    except KeyError:
        raise ValueError(f"unknown protocol {protocol!r}; expected one of {', '.join(DRIVERS)}") from None
    return cls(url, calibration=calibration, **options).open()  # type: ignore[arg-type]
