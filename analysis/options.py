"""Every processing choice of the analysis, with its default (:class:`AnalysisOptions`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from analysis.conditioning import DEFAULT_CUTOFF_HZ
from analysis.cutoff import DEFAULT_CUTOFF_CYCLES, DEFAULT_MIN_CUTOFF_HZ, DEFAULT_NOISE_LIMIT_PERCENT

__all__ = ["AnalysisOptions"]


@dataclass(frozen=True)
class AnalysisOptions:
    """Every processing choice, with its default. All are reported in the JSON ``parameters``.

    Attributes
    ----------
    cutoff_hz
        Low-pass cut-off (Hz) of the velocity and the highest cut-off of the torque;
        ``None`` analyses the raw signals. Default 20 Hz
        (:data:`analysis.conditioning.DEFAULT_CUTOFF_HZ`, reason given there).
    noise_limit_percent, cutoff_cycles, min_cutoff_hz
        The torque of a set is filtered at the highest cut-off up to ``cutoff_hz`` that leaves
        noise of at most ``noise_limit_percent`` of the set's peak torque, but with no fewer
        than ``cutoff_cycles`` periods per load range and no lower than ``min_cutoff_hz``
        (defaults 0.25 %, 3, 6 Hz; reasons in :mod:`analysis.cutoff`).
        ``noise_limit_percent=None`` filters the torque at ``cutoff_hz`` whatever the set.
    filter_order
        Butterworth order of one pass (forward-backward doubles it).
    window_tolerance_percent
        The load range is where speed is within this % of the nominal velocity (default 10 %).
    overshoot_percent, settle_percent
        A speed more than ``overshoot_percent`` above the nominal velocity on arrival is an
        overshoot; the load range then starts once its braking is over, and not before the
        speed is back within ``settle_percent`` (defaults 2 % and 0.2 %; see
        :func:`analysis.repetition.braking_end`).
    min_load_range_s, start_sensitivity_percent
        On a servo whose overshoot rings (:mod:`analysis.settling`), a repetition's windowed
        figures are left null, with the reason, when its settled load range lasts less than
        ``min_load_range_s`` (default 0.04 s) or moving the load range's start by the settling
        time's uncertainty changes its peak by more than ``start_sensitivity_percent``
        (default 1 %; :mod:`analysis.measurability` gives the reasons).
    inertia_kgm2, inertial_torque_percent
        On such a servo, a repetition's windowed figures are also left null when the lever's
        inertial torque inside its load range, bounded with a limb + lever moment of inertia of
        at most ``inertia_kgm2`` (kg.m^2; default ``None``: the joint's upper bound for the
        recording's body mass, :func:`analysis.inertia.default_inertia_kgm2`, e.g. 0.71 for a
        75 kg subject's knee), could move its peak by more than ``inertial_torque_percent``
        (default 1 %; :mod:`analysis.inertia`). A lab that measured its lever and limb gives
        the figure here; 0 turns the check off.
    rest_speed_dps, min_speed_dps, min_rom_deg, min_duration_s
        Movement detection (see :func:`analysis.segmentation.find_movements`).
    velocity_tolerance_percent
        Plateaus within this % of each other belong to one set velocity (default 15 %).
    passive_torque_percent, set_velocity_tolerance_percent, passive_mode_percent
        Passive movements (the machine moving a relaxed limb, :mod:`analysis.passive`): under
        ``passive_torque_percent`` (10 %) of the recording's strongest; more than
        ``set_velocity_tolerance_percent`` (25 %) off the test's velocity; or against the
        test's mode and under ``passive_mode_percent`` (35 %) of the strongest.
    partial_rom_percent
        A repetition covering less than this % (default 90) of its set's usual range (the
        median of its set's, or of the recording's when the set has fewer than 3) is partial:
        marked, and left out of the mean peak, the CV and the fatigue indexes.
    isometric_angle_tolerance_deg
        Isometric contractions within this many degrees of each other are at one angle: one
        set, and the angle at which ratios and bilateral deficits pair (default 5 deg).
    rtd_cutoff_hz
        Low-pass cut-off (Hz) of the torque an isometric contraction's onset and rate of
        torque development are read on (default 100 Hz, :mod:`analysis.isometric`; ``None`` or
        above a fifth of the sample rate: the raw torque).
    torque_angle_deg, torque_time_s
        Torque is also read at this angle (deg, default 30) and this time from onset (s, default 0.18).
    use_markers
        Use the device's repetition markers when the recording has them (default True).
    """

    cutoff_hz: float | None = DEFAULT_CUTOFF_HZ
    noise_limit_percent: float | None = DEFAULT_NOISE_LIMIT_PERCENT
    cutoff_cycles: float = DEFAULT_CUTOFF_CYCLES
    min_cutoff_hz: float = DEFAULT_MIN_CUTOFF_HZ
    filter_order: int = 2
    window_tolerance_percent: float = 10.0
    rest_speed_dps: float = 3.0
    min_speed_dps: float = 10.0
    min_rom_deg: float = 5.0
    min_duration_s: float = 0.05
    velocity_tolerance_percent: float = 15.0
    passive_torque_percent: float = 10.0
    set_velocity_tolerance_percent: float = 25.0
    passive_mode_percent: float = 35.0
    partial_rom_percent: float = 90.0
    isometric_angle_tolerance_deg: float = 5.0
    rtd_cutoff_hz: float | None = 100.0
    overshoot_percent: float = 2.0
    settle_percent: float = 0.2
    min_load_range_s: float = 0.04
    start_sensitivity_percent: float = 1.0
    inertia_kgm2: float | None = None
    inertial_torque_percent: float = 1.0
    torque_angle_deg: float | None = 30.0
    torque_time_s: float | None = 0.18
    use_markers: bool = True

    def __post_init__(self) -> None:
        if self.cutoff_hz is not None and self.cutoff_hz <= 0:
            raise ValueError(f"cutoff_hz must be positive, got {self.cutoff_hz}")
        if self.noise_limit_percent is not None and self.noise_limit_percent <= 0:
            raise ValueError(f"noise_limit_percent must be positive, got {self.noise_limit_percent}")
        if not self.cutoff_cycles > 0:
            raise ValueError(f"cutoff_cycles must be positive, got {self.cutoff_cycles}")
        if not self.min_cutoff_hz > 0:
            raise ValueError(f"min_cutoff_hz must be positive, got {self.min_cutoff_hz}")
        if self.noise_limit_percent is not None and self.cutoff_hz is not None and self.min_cutoff_hz > self.cutoff_hz:
            raise ValueError(f"min_cutoff_hz ({self.min_cutoff_hz:g}) is above cutoff_hz ({self.cutoff_hz:g})")
        if not 0 < self.window_tolerance_percent < 100:
            raise ValueError(f"window_tolerance_percent must be in (0, 100), got {self.window_tolerance_percent}")
        if not 0 <= self.passive_torque_percent < 100:
            raise ValueError(f"passive_torque_percent must be in [0, 100), got {self.passive_torque_percent}")
        if not self.min_load_range_s >= 0 or not self.start_sensitivity_percent > 0:
            raise ValueError("min_load_range_s must be >= 0 and start_sensitivity_percent > 0, got "
                             f"{self.min_load_range_s} and {self.start_sensitivity_percent}")
        if self.inertia_kgm2 is not None and not 0 <= self.inertia_kgm2 <= 100:
            raise ValueError(f"inertia_kgm2 must be between 0 and 100 kg.m^2, got {self.inertia_kgm2}")
        if not self.inertial_torque_percent > 0:
            raise ValueError(f"inertial_torque_percent must be positive, got {self.inertial_torque_percent}")
        for name in ("set_velocity_tolerance_percent", "passive_mode_percent", "partial_rom_percent"):
            if not 0 <= getattr(self, name) <= 100:
                raise ValueError(f"{name} must be in [0, 100], got {getattr(self, name)}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
