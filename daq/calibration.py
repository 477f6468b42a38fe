"""Calibration profiles: raw ADC counts to N.m, deg and deg/s.

A board sends raw counts; a profile turns each channel's counts into units with
``value = counts * gain + offset``. Profiles are JSON files, per device and per
analog-output setting, which a lab fits from known loads and angles
(:func:`fit_channel`). Shipped profiles live in ``daq/calibrations/`` and load by
name (:func:`load_profile`); any other profile loads by path.

File layout::

    {
      "name": "simulator",
      "device": "isokin-sim",
      "description": "free text: wiring, the dynamometer's analog scale settings, who fitted it",
      "channels": {
        "torque":   {"unit": "N.m",   "gain": 0.0152587890625, "offset": 0.0},
        "position": {"unit": "deg",   "gain": 0.0152587890625, "offset": 0.0},
        "velocity": {"unit": "deg/s", "gain": 0.0152587890625, "offset": 0.0}
      }
    }
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path

import numpy as np

from daq.errors import CalibrationError

__all__ = [
    "CHANNEL_UNITS",
    "CalibrationProfile",
    "ChannelCalibration",
    "ChannelFit",
    "fit_channel",
    "load_profile",
    "profile_for_model",
    "save_profile",
    "shipped_profiles",
]

#: Channel name -> the unit its calibrated values are in.
CHANNEL_UNITS: dict[str, str] = {"torque": "N.m", "position": "deg", "velocity": "deg/s"}


@dataclass(frozen=True)
class ChannelCalibration:
    """Linear calibration of one channel: ``value = counts * gain + offset``.

    Attributes
    ----------
    gain
        Units per ADC count (N.m, deg or deg/s per count).
    offset
        Value at zero counts, in the channel's unit.
    unit
        ``"N.m"``, ``"deg"`` or ``"deg/s"``.
    """

    gain: float
    offset: float
    unit: str

    def apply(self, counts: np.ndarray) -> np.ndarray:
        """Calibrated values (float64) of an array of counts."""
        return counts * self.gain + self.offset


@dataclass(frozen=True)
class CalibrationProfile:
    """Gain and offset for the torque, position and velocity channels of one device setting."""

    name: str
    device: str
    torque: ChannelCalibration
    position: ChannelCalibration
    velocity: ChannelCalibration
    description: str = ""

    def to_dict(self) -> dict[str, object]:
        channels = {
            ch: {"unit": cal.unit, "gain": cal.gain, "offset": cal.offset}
            for ch, cal in (("torque", self.torque), ("position", self.position), ("velocity", self.velocity))
        }
        return {"name": self.name, "device": self.device, "description": self.description, "channels": channels}

    def apply(self, counts: np.ndarray) -> np.ndarray:
        """Calibrated values (float64) of counts of shape ``(..., 3, n)``, rows torque, position, velocity.

        Element for element the same as each channel's :meth:`ChannelCalibration.apply`, in one operation.
        """
        gains, offsets = self._columns
        values: np.ndarray = counts * gains + offsets
        return values

    @cached_property
    def _columns(self) -> tuple[np.ndarray, np.ndarray]:
        """Gains and offsets as (3, 1) columns, to broadcast over ``(..., 3, n)`` counts."""
        channels = (self.torque, self.position, self.velocity)
        return np.array([[c.gain] for c in channels]), np.array([[c.offset] for c in channels])

    @classmethod
    def from_dict(cls, data: object, *, source: str = "profile") -> CalibrationProfile:
        """Build a profile from parsed JSON; raises :class:`CalibrationError` naming ``source``."""
        if not isinstance(data, dict):
            raise CalibrationError(f"{source}: a calibration profile must be a JSON object")
        channels = data.get("channels")
        if not isinstance(channels, dict):
            raise CalibrationError(f"{source}: missing 'channels' object with torque, position and velocity")
        parsed: dict[str, ChannelCalibration] = {}
        for ch, unit in CHANNEL_UNITS.items():
            entry = channels.get(ch)
            if not isinstance(entry, dict):
                raise CalibrationError(f"{source}: channel '{ch}' is missing")
            gain, offset = entry.get("gain"), entry.get("offset", 0.0)
            if not _finite_number(gain) or not _finite_number(offset) or gain == 0:
                raise CalibrationError(f"{source}: channel '{ch}' needs a finite non-zero 'gain' and a finite 'offset'")
            if entry.get("unit", unit) != unit:
                raise CalibrationError(f"{source}: channel '{ch}' must be in {unit}, found {entry.get('unit')!r}")
            parsed[ch] = ChannelCalibration(float(gain), float(offset), unit)  # type: ignore[arg-type]
        name = data.get("name")
        if not isinstance(name, str) or not name:
            raise CalibrationError(f"{source}: missing 'name'")
        return cls(
            name=name,
            device=str(data.get("device", "")),
            description=str(data.get("description", "")),
            **parsed,
        )


def _finite_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def shipped_profiles() -> list[str]:
    """Names of the profiles shipped in ``daq/calibrations/``."""
    folder = resources.files("daq") / "calibrations"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".json"))


def profile_for_model(model: str) -> CalibrationProfile | None:
    """The shipped profile made for a device model (its ``device`` field, e.g. ``isokin-sim``), if any."""
    for name in shipped_profiles():
        profile = load_profile(name)
        if model and profile.device == model:
            return profile
    return None


def load_profile(name_or_path: str | os.PathLike[str]) -> CalibrationProfile:
    """Load a shipped profile by name (e.g. ``"simulator"``) or any profile file by path.

    Raises
    ------
    CalibrationError
        When the name is unknown, the file cannot be read, is not JSON or lacks a field.
    """
    text_name = os.fspath(name_or_path)
    path = Path(text_name)
    if not (path.suffix == ".json" or os.sep in text_name or path.exists()):
        shipped = resources.files("daq") / "calibrations" / f"{text_name}.json"
        if not shipped.is_file():
            names = ", ".join(shipped_profiles())
            raise CalibrationError(f"unknown calibration profile {text_name!r}: give a JSON file or one of {names}")
        return _parse(shipped.read_text(encoding="utf-8"), text_name)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise CalibrationError(f"cannot read calibration {text_name}: {getattr(err, 'strerror', None) or err}") from err
    return _parse(text, text_name)


def _parse(text: str, source: str) -> CalibrationProfile:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise CalibrationError(f"{source}: not valid JSON: {err}") from err
    return CalibrationProfile.from_dict(data, source=source)


def save_profile(profile: CalibrationProfile, path: str | os.PathLike[str]) -> None:
    """Write a profile as JSON (loadable again with :func:`load_profile`)."""
    try:
        Path(path).write_text(json.dumps(profile.to_dict(), indent=2) + "\n", encoding="utf-8")
    except OSError as err:
        raise CalibrationError(f"cannot write calibration {os.fspath(path)}: {err.strerror}") from err


@dataclass(frozen=True)
class ChannelFit:
    """Result of :func:`fit_channel`.

    Attributes
    ----------
    gain, offset
        The fitted line ``value = counts * gain + offset`` (units per count, units).
    residuals
        ``value - fitted value`` at each known point, in the channel's unit.
    rms_residual
        Root mean square of the residuals (0 for a two-point fit).
    """

    gain: float
    offset: float
    residuals: np.ndarray
    rms_residual: float

    def calibration(self, unit: str) -> ChannelCalibration:
        return ChannelCalibration(self.gain, self.offset, unit)


def fit_channel(counts: np.ndarray | list[float], values: np.ndarray | list[float]) -> ChannelFit:
    """Fit gain and offset from known points: exact through two points, least squares through more.

    Parameters
    ----------
    counts
        ADC counts read at each known point.
    values
        The known physical values there (N.m from weights on the lever arm, deg from a
        goniometer, deg/s from the set velocity).

    Raises
    ------
    ValueError
        When the two arrays differ in length or hold fewer than two points.
    CalibrationError
        When all counts are equal (no slope can be fitted) or a value is not finite.

    Example
    -------
    >>> fit = fit_channel([0, 32768], [0.0, 500.0])
    >>> fit.gain, fit.offset
    (0.0152587890625, 0.0)
    """
    x = np.asarray(counts, dtype=np.float64)
    y = np.asarray(values, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"counts and values must be 1-D of equal length, got {x.shape} and {y.shape}")
    if len(x) < 2:
        raise ValueError("a calibration fit needs at least two known points")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise CalibrationError("calibration points must be finite numbers")
    xc = x - x.mean()
    sxx = float(xc @ xc)
    if sxx == 0.0:
        raise CalibrationError("all calibration points have the same count: no gain can be fitted")
    gain = float(xc @ (y - y.mean())) / sxx
    offset = float(y.mean() - gain * x.mean())
    residuals = y - (x * gain + offset)
    return ChannelFit(gain, offset, residuals, float(np.sqrt(np.mean(residuals**2))))
