"""Samples of a trial (columns with units), and the live view of a running trial."""

from __future__ import annotations

from pydantic import BaseModel, Field

from api.schemas.device import DeviceState
from api.schemas.trials import AcquisitionFiguresPublic, TrialState

__all__ = ["LiveBinsPublic", "LivePublic", "SamplesPublic", "MAX_SAMPLES_PER_PAGE"]

#: Most samples one JSON page holds; longer trials are read page by page (``next_start_s``) or as CSV.
MAX_SAMPLES_PER_PAGE = 100_000


class SamplesPublic(BaseModel):
    """Samples as columns of equal length, in order, with the time to ask from for the next page."""

    trial_id: int = Field(description="trial id", examples=[1])
    count: int = Field(description="samples in this page", examples=[3])
    next_start_s: float | None = Field(
        description="start_s of the next page (the time of the first sample not returned), null when this is the last",
        examples=[None],
    )
    time_s: list[float] = Field(
        description="time since the trial's first sample on the device's clock, s", examples=[[0.0, 0.001, 0.002]]
    )
    torque_nm: list[float] = Field(description="torque, N.m (> 0 toward the pattern's first-named direction)", examples=[[1.2, 1.3, 1.5]])
    position_deg: list[float] = Field(description="lever position, deg", examples=[[90.0, 89.94, 89.88]])
    velocity_dps: list[float] = Field(description="lever velocity, deg/s", examples=[[-60.0, -60.1, -59.9]])
    status: list[int] = Field(description="device status bits per sample (bit 0 at range limit, bit 1 safety stop)", examples=[[0, 0, 0]])
    sequence: list[int] = Field(description="device sample index (a jump is a gap)", examples=[[0, 1, 2]])
    device_time_us: list[int] = Field(
        description="the device's clock at each sample, microseconds (-1: not known, e.g. an import)",
        examples=[[5000, 6000, 7000]],
    )


class LiveBinsPublic(BaseModel):
    """Samples decimated for display: one value per bin of consecutive samples (50 bins per second)."""

    time_s: list[float] = Field(description="time of each bin's first sample, s")
    torque_nm: list[float] = Field(description="mean torque in the bin, N.m")
    torque_min_nm: list[float] = Field(description="lowest torque in the bin, N.m")
    torque_max_nm: list[float] = Field(description="highest torque in the bin, N.m")
    position_deg: list[float] = Field(description="mean position in the bin, deg")
    velocity_dps: list[float] = Field(description="mean velocity in the bin, deg/s")


class LivePublic(BaseModel):
    """A running trial as a display shows it: new bins since ``cursor``, figures and device state.

    The WebSocket at the same path sends this message about ten times a second.
    """

    trial_id: int = Field(description="trial id", examples=[1])
    state: TrialState = Field(description="the trial's state", examples=["recording"])
    cursor: int = Field(description="pass as 'since' to get only newer bins", examples=[250])
    bins: LiveBinsPublic
    acquisition: AcquisitionFiguresPublic
    device_state: DeviceState = Field(description="connection state of the device", examples=["connected"])
    longest_flush_interval_s: float | None = Field(
        description="longest time between two database writes of this recording so far, s (null when not recording)"
    )
