"""The analyze JSON contract (``analysis/README.md``, schema ``isokin-analysis/1``) as response models.

Fields are those the README documents, with their units; every model also lets further
fields through (``extra="allow"``), so a figure the analysis adds later reaches clients
unchanged. Numbers are ``null`` when a figure cannot be computed. Ratios are fractions;
deficits, LSI, CV and fatigue are percent.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import Side

__all__ = [
    "AnalysisParameters",
    "AnalysisPublic",
    "AngleSpecificPublic",
    "ChangePublic",
    "ContractionPublic",
    "FindingPublic",
    "NotEvaluatedPublic",
    "PassiveMovementPublic",
    "RetestPublic",
    "WarningPublic",
    "BilateralPublic",
    "FlagPublic",
    "OptionsPublic",
    "RatioPublic",
    "RatioTermPublic",
    "RecordingPublic",
    "RepetitionPublic",
    "SetPublic",
]

_OPEN = ConfigDict(extra="allow")
Num = float | None


class RepetitionPublic(BaseModel):
    """One repetition: one movement in one direction. Torques are the group's, positive."""

    model_config = _OPEN

    index: int = Field(description="1-based repetition number within the set", examples=[1])
    movement: str = Field(description="direction the lever moved", examples=["flexion"])
    start_s: Num = Field(description="movement onset, s (recording time)")
    end_s: Num = Field(description="movement stop, s (recording time)")
    velocity_dps: Num = Field(description="the repetition's plateau velocity, deg/s", examples=[59.9])
    peak_torque_nm: Num = Field(description="peak torque in the load range (windowed), N.m; null without load range")
    angle_at_peak_deg: Num = Field(description="position at the windowed peak, deg")
    time_to_peak_s: Num = Field(description="time from onset to the windowed peak, s")
    peak_torque_unwindowed_nm: Num = Field(description="peak torque over the whole movement, N.m")
    angle_at_peak_unwindowed_deg: Num = Field(description="position at the unwindowed peak, deg")
    time_to_peak_unwindowed_s: Num = Field(description="time from onset to the unwindowed peak, s")
    torque_at_angle_nm: Num = Field(description="torque at parameters.analysis.torque_angle_deg, N.m")
    torque_at_time_nm: Num = Field(description="torque at parameters.analysis.torque_time_s after onset, N.m")
    work_j: Num = Field(description="torque integrated over the movement's angle in radians, J")
    load_range_work_j: Num = Field(description="the same over the load range, J")
    mean_power_w: Num = Field(description="work / movement duration, W")
    peak_power_w: Num = Field(description="largest torque x angular velocity in the load range, W")
    rom_deg: Num = Field(description="range of motion, deg")
    load_range_start_s: Num = Field(description="start of the isokinetic load range, s")
    load_range_end_s: Num = Field(description="end of the isokinetic load range, s")
    acceleration_time_s: Num = Field(description="onset to load range, s")
    deceleration_time_s: Num = Field(description="load range to stop, s")
    partial: bool = Field(default=False, description="covered less than the set's usual range: out of mean, CV and fatigue")
    partial_reason: str | None = Field(default=None, description="why the repetition is partial")
    no_load_range_reason: str | None = Field(
        default=None, description="why the windowed figures are null: the speed never reached the set velocity, or the servo "
        "settled too late for a trustworthy load range (the unwindowed figures stay)")


class ContractionPublic(BaseModel):
    """One isometric contraction; torques net of the torque at rest before it, the group's, positive."""

    model_config = _OPEN

    index: int = Field(description="1-based contraction number within the set", examples=[1])
    onset_s: Num = Field(description="onset (threshold rise extended back to the baseline), s (recording time)")
    end_s: Num = Field(description="end, when the torque is back at rest (or the recording ends), s")
    baseline_torque_nm: Num = Field(description="torque at rest just before, N.m (subtracted from every figure)")
    peak_torque_nm: Num = Field(description="peak net torque, N.m", examples=[250.0])
    time_to_peak_s: Num = Field(description="onset to peak, s")
    angle_deg: Num = Field(description="the lever's angle (median position), deg", examples=[60.0])
    rtd_0_50_nm_per_s: Num = Field(description="rate of torque development 0-50 ms from onset, N.m/s")
    rtd_0_100_nm_per_s: Num = Field(description="rate of torque development 0-100 ms from onset, N.m/s")
    rtd_0_200_nm_per_s: Num = Field(description="rate of torque development 0-200 ms from onset, N.m/s")
    mean_torque_best_1s_nm: Num = Field(description="highest mean net torque over best_window_s, N.m")
    best_window_s: Num = Field(description="the window of that mean: 1 s, or the whole contraction when shorter, s")
    impulse_nm_s: Num = Field(description="net torque integrated from onset to end, N.m.s")
    duration_s: Num = Field(description="end minus onset, s")
    ends_with_recording: bool = Field(description="the recording stopped before the torque came back to rest")


class SetPublic(BaseModel):
    """One muscle group x contraction x velocity of a recording."""

    model_config = _OPEN

    direction: str = Field(description="the muscle group's action", examples=["flexion"])
    contraction: Literal["concentric", "eccentric", "isometric"] = Field(
        description="concentric when torque x velocity > 0; isometric for contractions against a still lever"
    )
    velocity_dps: Num = Field(description="set velocity recognised from the plateaus, deg/s", examples=[60.0])
    repetitions: int = Field(description="number of repetitions found", examples=[3])
    peak_torque_nm: Num = Field(description="best windowed peak torque, N.m", examples=[141.0])
    peak_torque_rep: int | None = Field(description="1-based repetition of the best peak")
    mean_peak_torque_nm: Num = Field(description="mean of the windowed peaks, N.m")
    peak_torque_unwindowed_nm: Num = Field(description="best peak over whole movements (as vendors print it), N.m")
    peak_torque_per_kg: Num = Field(description="peak torque / body mass, N.m/kg")
    cv_percent: Num = Field(description="coefficient of variation of the windowed peaks, %")
    total_work_j: Num = Field(description="work of all repetitions, J")
    work_per_kg: Num = Field(description="total work / body mass, J/kg")
    work_fatigue_percent: Num = Field(description="100 x (first third - last third of work) / first third, %")
    endurance_ratio: Num = Field(description="mean peak of the last k / first k repetitions, fraction")
    fatigue_slope_nm_per_rep: Num = Field(description="slope of peak torque over repetitions, N.m per repetition")
    reps: list[RepetitionPublic] = Field(description="the repetitions, in time order (empty for isometric sets)")
    partial_repetitions: int = Field(default=0, description="repetitions marked partial")
    angle_deg: Num = Field(default=None, description="isometric sets: the angle held, deg")
    impulse_fatigue_percent: Num = Field(
        default=None, description="isometric endurance sets: 100 x (first third - last third of impulse) / first third, %"
    )
    contractions: list[ContractionPublic] = Field(default_factory=list, description="isometric sets: the contractions")


class WarningPublic(BaseModel):
    """A data-quality finding about a whole recording."""

    model_config = _OPEN

    rule: str = Field(description="the flag it raises", examples=["velocity_sign_contradicts_position"])
    message: str = Field(description="what was found and done")


class PassiveMovementPublic(BaseModel):
    """A movement of the relaxed limb, left out of the sets."""

    model_config = _OPEN

    movement: str = Field(description="direction the lever moved", examples=["flexion"])
    start_s: Num = Field(description="start, s (recording time)")
    end_s: Num = Field(description="end, s")
    velocity_dps: Num = Field(description="plateau speed, deg/s")
    peak_torque_nm: Num = Field(description="largest torque magnitude over the movement, N.m")
    mean_torque_nm: Num = Field(description="mean torque over the movement (signed), N.m")
    reason: str = Field(description="why it is passive")


class RecordingPublic(BaseModel):
    """One analysed recording (here: one trial)."""

    model_config = _OPEN

    trial_id: int | None = Field(default=None, description="the trial analysed (added by the service)", examples=[1])
    source: str = Field(description="name of the recording in messages", examples=["trial 1"])
    joint: str = Field(description="joint tested", examples=["knee"])
    pattern: str = Field(description="movement pattern, '+ direction/- direction'", examples=["flexion/extension"])
    side: Side | None = Field(description="side tested")
    body_mass_kg: Num = Field(description="body mass used for the per-kg figures, kg", examples=[75.0])
    gravity_corrected: bool = Field(description="whether a limb torque was subtracted")
    gravity_torque_nm: Num = Field(description="limb + lever torque with the segment horizontal, N.m")
    horizontal_angle_deg: Num = Field(description="position where the segment is horizontal, deg")
    sample_rate_hz: Num = Field(description="sample rate, Hz", examples=[1000.0])
    segmentation: Literal["markers", "velocity", "isometric"] = Field(
        description="repetitions from device markers or from velocity; contractions of an isometric test"
    )
    sets: list[SetPublic] = Field(description="one per group x contraction x velocity (or angle), in the order they start")
    subject: str | None = Field(default=None, description="who was tested (pairing), null when unknown")
    session: str | None = Field(default=None, description="the session (a date, or the vendor's test), null when unknown")
    warnings: list[WarningPublic] = Field(default_factory=list, description="data-quality findings about the recording")
    passive_movements: list[PassiveMovementPublic] = Field(default_factory=list, description="movements left out as passive")


class RatioTermPublic(BaseModel):
    model_config = _OPEN

    trial_id: int | None = Field(default=None, description="the trial of this set (added by the service)")
    direction: str = Field(description="muscle group", examples=["flexion"])
    contraction: Literal["concentric", "eccentric", "isometric"] = Field(description="contraction of the set")
    velocity_dps: Num = Field(description="set velocity, deg/s")
    side: Side | None = Field(description="side")
    peak_torque_nm: Num = Field(description="the set's peak torque, N.m")
    source: str = Field(description="recording the set comes from")
    angle_deg: Num = Field(default=None, description="isometric sets: the angle, deg")
    gravity_corrected: bool = Field(default=False, description="whether the set's torque was gravity-corrected")


class AngleSpecificPublic(BaseModel):
    model_config = _OPEN

    angle_deg: list[float] = Field(description="positions both sets cover, deg")
    value: list[float] = Field(description="ratio of the mean load-range torques at each angle, fractions")
    crossing_angle_deg: Num = Field(description="where the ratio crosses 1 (the torque curves cross), deg")


class RatioPublic(BaseModel):
    """An agonist/antagonist ratio within one side."""

    model_config = _OPEN

    kind: Literal["conventional", "eccentric", "functional", "mixed", "isometric"] = Field(description="which pairing")
    label: str = Field(description="e.g. Hcon/Qcon, ERecc/IRcon", examples=["Hcon/Qcon"])
    joint: str = Field(description="joint", examples=["knee"])
    pattern: str = Field(description="movement pattern", examples=["flexion/extension"])
    numerator: RatioTermPublic
    denominator: RatioTermPublic
    value: Num = Field(description="numerator / denominator peak torque, fraction", examples=[0.6])
    angle_specific: AngleSpecificPublic | None = Field(description="angle-specific ratio (same-velocity ratios only)")


class BilateralPublic(BaseModel):
    """One group x contraction x velocity present on both sides."""

    model_config = _OPEN

    joint: str = Field(description="joint", examples=["knee"])
    pattern: str = Field(description="movement pattern", examples=["flexion/extension"])
    direction: str = Field(description="muscle group", examples=["flexion"])
    contraction: Literal["concentric", "eccentric", "isometric"] = Field(description="contraction")
    velocity_dps: Num = Field(description="mean of the two sides' set velocities, deg/s")
    left_nm: Num = Field(description="left windowed peak torque, N.m")
    right_nm: Num = Field(description="right windowed peak torque, N.m")
    involved_side: Side | None = Field(description="side under test, null if none was marked")
    reference_side: Side = Field(description="the uninvolved side, or the stronger one")
    deficit_percent: Num = Field(description="(reference - other) / reference x 100, %", examples=[25.0])
    lsi_percent: Num = Field(description="other / reference x 100, %", examples=[75.0])
    left_source: str = Field(default="", description="the left side's recording")
    right_source: str = Field(default="", description="the right side's recording")
    left_trial_id: int | None = Field(default=None, description="the left side's trial (added by the service)")
    right_trial_id: int | None = Field(default=None, description="the right side's trial (added by the service)")
    angle_deg: Num = Field(default=None, description="isometric comparisons: the angle, deg")
    gravity_corrected: bool = Field(default=False, description="whether both sides' torques were gravity-corrected")


class FlagPublic(BaseModel):
    """A rule that fired."""

    model_config = _OPEN

    rule: str = Field(description="rule name", examples=["deficit_probable"])
    severity: Literal["flag", "warning"] = Field(description="flag: clinical; warning: data quality")
    subject: str = Field(description="what it concerns")
    message: str = Field(description="what was found")
    values: dict[str, float | None] = Field(description="the numbers the rule looked at")
    threshold: Num = Field(description="the threshold applied (unit of the threshold's name)")
    threshold_name: str = Field(description="a key of parameters.thresholds (empty for rules without one)")
    source: str = Field(description="where the threshold comes from")


class OptionsPublic(BaseModel):
    """The processing choices used (``analysis.AnalysisOptions``)."""

    model_config = _OPEN

    cutoff_hz: Num = Field(description="low-pass cut-off, Hz; null: raw signal", examples=[20.0])
    filter_order: int = Field(description="Butterworth order of one pass")
    window_tolerance_percent: float = Field(description="load range: speed within this % of the set velocity")
    use_markers: bool = Field(description="device repetition markers used when present")


class AnalysisParameters(BaseModel):
    """Everything needed to reproduce the figures."""

    model_config = _OPEN

    analysis: OptionsPublic
    thresholds: dict[str, float] = Field(description="flag thresholds by name (units in their names)")
    threshold_sources: dict[str, str] = Field(description="threshold name -> where its default comes from")
    involved_side: Side | None = Field(description="side under test for deficits; null: the stronger side is the reference")
    velocity_match_percent: float = Field(description="sets within this % of each other are at the same velocity")


class FindingPublic(BaseModel):
    """One line of the verdict."""

    model_config = _OPEN

    kind: str = Field(description="imbalance, ardern, ratio, change, check or none", examples=["imbalance"])
    severity: Literal["flag", "warning", "info"] = Field(description="flag: clinical; warning: data quality; info")
    text: str = Field(description="the line, for a reader", examples=["Imbalance: left hamstrings 25 % weaker than right ..."])
    rules: list[str] = Field(description="the flags or facts behind it")


class NotEvaluatedPublic(BaseModel):
    """A criterion the recordings could not support."""

    model_config = _OPEN

    criterion: str = Field(description="what could not be evaluated")
    reason: str = Field(description="why")


class ChangePublic(BaseModel):
    """One figure in two sessions of a subject."""

    model_config = _OPEN

    measure: Literal["peak_torque", "ratio", "deficit"] = Field(description="what changed")
    label: str = Field(description="which figure")
    unit: str = Field(description="unit of before and after: N.m, fraction or percent")
    before: Num = Field(description="first session's value")
    after: Num = Field(description="second session's value")
    change_percent: Num = Field(description="peak torques and ratios: 100 x (after - before) / before, %")
    change_points: Num = Field(description="deficits: after - before, percentage points")
    srd: Num = Field(description="smallest real difference given (same unit as the change), null when none")
    srd_source: str | None = Field(description="where the SRD comes from")
    beyond_srd: bool | None = Field(description="whether the change exceeds the SRD; null without one")
    before_sources: list[str] = Field(description="recordings of the first value")
    after_sources: list[str] = Field(description="recordings of the second value")


class RetestPublic(BaseModel):
    """A test-retest comparison of one subject's two sessions."""

    model_config = _OPEN

    subject: str = Field(description="the subject")
    before_session: str = Field(description="the first session")
    after_session: str = Field(description="the second session")
    changes: list[ChangePublic] = Field(description="each figure present in both")


class AnalysisPublic(BaseModel):
    """The analyze JSON document (schema isokin-analysis/1)."""

    model_config = _OPEN

    schema_: str = Field(alias="schema", description="contract identifier and version", examples=["isokin-analysis/1"])
    verdict: list[FindingPublic] = Field(default_factory=list, description="one line per finding, most important first")
    not_evaluated: list[NotEvaluatedPublic] = Field(default_factory=list, description="criteria not evaluated, and why")
    parameters: AnalysisParameters
    recordings: list[RecordingPublic] = Field(description="one per analysed recording (trial)")
    ratios: list[RatioPublic] = Field(description="agonist/antagonist ratios within each side")
    bilateral: list[BilateralPublic] = Field(description="left/right comparisons")
    flags: list[FlagPublic] = Field(description="clinical flags and data-quality warnings")
    retests: list[RetestPublic] = Field(default_factory=list, description="test-retest comparisons across sessions")
    pairing: dict[str, Any] | None = Field(
        default=None, description="the pairing rule applied, the groups paired and what was not paired, and why"
    )
