"""The device: identity, connection, calibration, acquisition counters; connecting; the simulated subject."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.acquisition.device import DeviceSnapshot
from api.acquisition.simulator import PROFILE_NAME_PATTERN

__all__ = [
    "AcquisitionStatsPublic",
    "CalibrationPublic",
    "ChannelCalibrationPublic",
    "DeviceConnect",
    "DeviceInfoPublic",
    "DevicePublic",
    "SimulatorProfileChoose",
    "SimulatorProfilePublic",
    "SimulatorProfilesPublic",
]

DeviceState = Literal["not connected", "connecting", "connected", "reconnecting", "lost", "failed"]

#: Device URLs the service opens: the simulator, sim:// options, a serial path, or a pyserial URL.
URL_PATTERN = r"^(simulator|sim://\S*|(socket|rfc2217|spy|loop)://\S*|/\S+|COM[0-9]{1,3})$"


def finite(value: float | None) -> float | None:
    """``None`` for NaN or infinity (JSON has no NaN)."""
    return value if value is not None and math.isfinite(value) else None


class DeviceInfoPublic(BaseModel):
    """Who the device says it is (ASCII boards say nothing: empty fields)."""

    protocol: str = Field(description="wire protocol: binary or ascii", examples=["binary"])
    model: str = Field(description="device model from INFO", examples=["isokin-sim"])
    serial_number: str = Field(description="serial number from INFO", examples=["SIM-0"])
    firmware_version: str = Field(description="firmware version from INFO", examples=["0.1.0"])
    sample_rates_hz: list[int] = Field(description="sample rates the device offers, Hz", examples=[[100, 1000, 2000]])
    max_samples_per_frame: int = Field(description="largest DATA batch, samples", examples=[314])
    drives_machine: bool = Field(description="true when the device drives the dynamometer (it runs the set itself)")
    marker_button: bool = Field(description="true when the device has a marker button")


class ChannelCalibrationPublic(BaseModel):
    gain: float = Field(description="units per ADC count (N.m, deg or deg/s per count)")
    offset: float = Field(description="value at zero counts, in the channel's unit")
    unit: str = Field(description="unit of the calibrated channel", examples=["N.m"])


class CalibrationPublic(BaseModel):
    """The calibration profile turning counts into N.m, deg and deg/s."""

    name: str = Field(description="profile name", examples=["simulator"])
    device: str = Field(description="device model the profile was made for", examples=["isokin-sim"])
    description: str = Field(description="what the profile is for")
    torque: ChannelCalibrationPublic
    position: ChannelCalibrationPublic
    velocity: ChannelCalibrationPublic


class AcquisitionStatsPublic(BaseModel):
    """The driver's counters since the device was connected."""

    samples: int = Field(description="samples received", examples=[120000])
    frames: int = Field(description="good frames (binary) or lines (ASCII) decoded")
    bytes_received: int = Field(description="bytes read from the port")
    bytes_discarded: int = Field(description="bytes that belonged to no good frame or line")
    crc_errors: int = Field(description="frames failing their CRC")
    bad_headers: int = Field(description="impossible frame headers")
    malformed: int = Field(description="frames or lines whose content did not fit their type")
    frames_lost: int = Field(description="device frames that never arrived (binary frame sequence)")
    frames_ignored: int = Field(description="DATA frames received while no stream was started")
    frames_repeated: int = Field(description="frames (or ASCII lines) the device sent twice, stored once")
    gaps: int = Field(description="gaps in the sample index")
    lost_samples: int = Field(description="samples lost in those gaps")
    loss_detection: str = Field(description="how loss is seen: sample index, line counter or none")
    overflow_drops: int = Field(description="samples dropped because a consumer was too slow")
    disconnects: int = Field(description="times the link failed")
    reconnects: int = Field(description="times the same device was found again")
    effective_rate_hz: float | None = Field(description="samples per second of host time, Hz (null before 2 samples)")
    drift_ppm: float | None = Field(description="device clock drift against the host clock, ppm (null until fitted)")


class DevicePublic(BaseModel):
    """The device: connection state, identity, calibration and counters."""

    state: DeviceState = Field(
        description="not connected, connecting, connected, reconnecting (link dropped, the driver reopens it), "
        "lost (it gave up) or failed (the last connect failed)",
        examples=["connected"],
    )
    requested_url: str | None = Field(description="device asked for: a URL, or 'simulator'", examples=["simulator"])
    url: str | None = Field(description="URL opened (for the simulator, the sim:// URL with its options)", examples=["sim://?speed=1"])
    protocol: str = Field(description="wire protocol: binary or ascii", examples=["binary"])
    simulator: bool = Field(description="true for the bundled simulator")
    simulator_profile: str | None = Field(description="simulated subject's profile (simulator only)", examples=["default"])
    info: DeviceInfoPublic | None = Field(description="identity from INFO (null when not connected)")
    calibration: CalibrationPublic | None = Field(description="calibration profile in use (null when not connected)")
    stats: AcquisitionStatsPublic | None = Field(description="acquisition counters (null when not connected)")
    error: str | None = Field(description="why the device is failed, lost or reconnecting")
    connected_at: dt.datetime | None = Field(description="when the device was opened (UTC)")
    recording_trial_id: int | None = Field(description="the trial recording or weighing now, if any", examples=[None])

    @classmethod
    def of(cls, snapshot: DeviceSnapshot, *, busy_with: int | None) -> DevicePublic:
        info, cal, stats = snapshot.info, snapshot.calibration, snapshot.stats
        return cls(
            state=snapshot.state,
            requested_url=snapshot.requested_url,
            url=snapshot.url,
            protocol=snapshot.protocol,
            simulator=snapshot.simulator,
            simulator_profile=snapshot.simulator_profile,
            info=None if info is None else DeviceInfoPublic(
                protocol=info.protocol,
                model=info.model,
                serial_number=info.serial_number,
                firmware_version=info.firmware_version,
                sample_rates_hz=list(info.sample_rates_hz),
                max_samples_per_frame=info.max_samples_per_frame,
                drives_machine=info.drives_machine,
                marker_button=info.marker_button,
            ),
            calibration=None if cal is None else CalibrationPublic(
                name=cal.name,
                device=cal.device,
                description=cal.description,
                **{ch: ChannelCalibrationPublic(gain=c.gain, offset=c.offset, unit=c.unit)
                   for ch, c in (("torque", cal.torque), ("position", cal.position), ("velocity", cal.velocity))},
            ),
            stats=None if stats is None else AcquisitionStatsPublic(
                samples=stats.samples,
                frames=stats.frames,
                bytes_received=stats.bytes_received,
                bytes_discarded=stats.bytes_discarded,
                crc_errors=stats.crc_errors,
                bad_headers=stats.bad_headers,
                malformed=stats.malformed,
                frames_lost=stats.frames_lost,
                frames_ignored=stats.frames_ignored,
                frames_repeated=stats.frames_repeated,
                gaps=len(stats.gaps),
                lost_samples=stats.lost_samples,
                loss_detection=stats.loss_detection,
                overflow_drops=stats.overflow_drops,
                disconnects=stats.disconnects,
                reconnects=stats.reconnects,
                effective_rate_hz=finite(stats.effective_rate_hz),
                drift_ppm=finite(stats.drift_ppm),
            ),
            error=snapshot.error,
            connected_at=snapshot.connected_at,
            recording_trial_id=busy_with,
        )


class DeviceConnect(BaseModel):
    """Which device to connect (it replaces the current one)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"url": "simulator"}, {"url": "/dev/ttyACM0", "calibration": "biodex-5v-ads1115"}]}
    )

    url: str = Field(
        default="simulator",
        max_length=500,
        pattern=URL_PATTERN,
        description="'simulator' (the bundled simulator, real time), sim://?speed=10&seed=1 (simulator options), "
        "a serial path (/dev/ttyACM0, COM3) or a pyserial URL (socket://host:port, rfc2217://, spy://)",
        examples=["simulator"],
    )
    protocol: Literal["binary", "ascii"] = Field(
        default="binary", description="wire protocol: binary (protocol v1) or ascii (torque,velocity,position lines)"
    )
    calibration: str | None = Field(
        default=None,
        max_length=100,
        pattern=r"^[A-Za-z0-9_.-]+$",
        description="shipped calibration profile name; null picks the one made for the device's model",
        examples=[None],
    )


class SimulatorProfilePublic(BaseModel):
    name: str = Field(description="profile name", examples=["default"])
    description: str = Field(description="who the simulated subject is")
    source: Literal["bundled", "uploaded"] = Field(description="bundled with isokin, or uploaded to this server")
    active: bool = Field(description="true for the profile the simulator uses")


class SimulatorProfilesPublic(BaseModel):
    data: list[SimulatorProfilePublic] = Field(description="bundled profiles first, then uploaded ones")
    count: int = Field(description="number of profiles", examples=[1])


class SimulatorProfileChoose(BaseModel):
    """Choose a profile by name, or upload one (``profile``: the JSON of ``simulators/profiles/default.json``)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "default"}]})

    name: str = Field(pattern=PROFILE_NAME_PATTERN, description="profile to use; with 'profile', the name to keep it under", examples=["default"])
    profile: dict[str, Any] | None = Field(
        default=None, description="a profile to upload (layout of simulators/profiles/default.json), or null to choose by name"
    )
