"""Analysis of isokinetic recordings: pure numpy/scipy functions, no I/O.

Entry points: :func:`analyze_recording` (one recording -> sets of repetitions) and
:func:`compare` (several recordings -> ratios, bilateral comparisons, flags), then
:func:`build_report` for the JSON contract documented in ``analysis/README.md``.
Each step is a separate function (filtering, segmentation, windowing, metrics).
"""

from analysis.bilateral import Bilateral, bilateral_comparison, deficit_percent, lsi_percent
from analysis.compare import Comparison, compare, velocities_match
from analysis.conditioning import (
    DEFAULT_CUTOFF_HZ,
    gravity_correct,
    gravity_torque,
    lowpass,
    sample_rate_of,
    velocity_agreement,
)
from analysis.cutoff import noise_sd, torque_cutoff_hz
from analysis.errors import AnalysisError, NoRepetitionsError, UnknownJointError
from analysis.flags import THRESHOLD_SOURCES, Flag, Thresholds
from analysis.joints import CONVENTIONAL_RATIO, JOINT_PATTERNS, PATTERN_DIRECTIONS, resolve_pattern
from analysis.passive import PASSIVE_MODES, PassiveMovement
from analysis.pipeline import (
    AnalysisOptions,
    AngleCurve,
    RecordingAnalysis,
    RecordingWarning,
    SetAnalysis,
    analyze_recording,
)
from analysis.ratios import AngleRatio, Ratio, RatioTerm, angle_ratio, peak_ratio
from analysis.repetition import RepetitionMetrics, braking_end, load_range, load_ranges
from analysis.repetition_figures import measure_repetitions
from analysis.report import COLUMNS, SCHEMA, build_report, render_text
from analysis.segmentation import Gap, Movement, find_gaps, find_movements, movements_from_markers, plateau_speed
from analysis.sets import SetMetrics, set_metrics
from analysis.settling import Settling, servo_settling

__all__ = [
    "AnalysisError",
    "AnalysisOptions",
    "AngleCurve",
    "AngleRatio",
    "Bilateral",
    "COLUMNS",
    "CONVENTIONAL_RATIO",
    "Comparison",
    "DEFAULT_CUTOFF_HZ",
    "Flag",
    "Gap",
    "JOINT_PATTERNS",
    "Movement",
    "NoRepetitionsError",
    "PASSIVE_MODES",
    "PATTERN_DIRECTIONS",
    "PassiveMovement",
    "Ratio",
    "RatioTerm",
    "RecordingAnalysis",
    "RecordingWarning",
    "RepetitionMetrics",
    "Settling",
    "SCHEMA",
    "SetAnalysis",
    "SetMetrics",
    "THRESHOLD_SOURCES",
    "Thresholds",
    "UnknownJointError",
    "analyze_recording",
    "angle_ratio",
    "bilateral_comparison",
    "braking_end",
    "build_report",
    "compare",
    "deficit_percent",
    "find_gaps",
    "find_movements",
    "gravity_correct",
    "gravity_torque",
    "load_range",
    "load_ranges",
    "lowpass",
    "lsi_percent",
    "measure_repetitions",
    "servo_settling",
    "movements_from_markers",
    "noise_sd",
    "peak_ratio",
    "plateau_speed",
    "render_text",
    "resolve_pattern",
    "sample_rate_of",
    "set_metrics",
    "torque_cutoff_hz",
    "velocities_match",
    "velocity_agreement",
]
