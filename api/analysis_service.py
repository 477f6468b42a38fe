"""Analysing stored trials: inputs resolved from the database, results cached per trial and parameters.

A trial is analysed with :func:`analysis.analyze_recording` on its stored samples, with

- joint, pattern and side from the trial;
- body mass from the request, else an import's explicit override, else the subject's,
  else the imported file's own (kg);
- gravity torque and horizontal angle from the request, else the trial's limb weighing
  or import (N.m, deg);
- the device's repetition markers when the trial has them;
- the data-quality warnings of the file's importer (metadata ``warning_<rule>``);
- the trial's mode, acting group and velocities: movements against them are passive;
- the stored samples' device sample index (``sequence``): gaps are where it does not step
  by 1, never where the host's clock jittered.

:class:`AnalysisCache` keeps recent :class:`~analysis.RecordingAnalysis` results keyed by
the trial, its data fingerprint (number of chunks and samples: new samples invalidate it)
and every input above, so repeated reports cost a lookup, not an analysis.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from analysis import AnalysisOptions, RecordingAnalysis, Thresholds, analyze_recording
from api.errors import ConflictError
from api.storage.models import SampleChunk, Subject, Trial
from api.storage.samples import read_samples
from daq.importers import warnings_of

__all__ = [
    "IMPORT_OVERRIDES_KEY",
    "AnalysisCache",
    "AnalysisSettings",
    "TrialInputs",
    "analyze_trial",
    "data_fingerprints",
    "trial_inputs",
    "trial_metadata",
]

#: Key of an imported trial's metadata listing the keys set from the upload's form fields.
IMPORT_OVERRIDES_KEY = "import_overrides"


@dataclass(frozen=True)
class AnalysisSettings:
    """What a request may change about an analysis (``None``: the stored value is used).

    Attributes
    ----------
    options, thresholds
        Processing choices and flag thresholds (:mod:`analysis`).
    body_mass_kg
        Body mass for the per-kg figures, kg.
    gravity_torque_nm, horizontal_angle_deg
        Limb + lever torque with the segment horizontal (N.m; 0 turns the correction off)
        and the position where it is horizontal (deg).
    involved_side
        ``"left"`` or ``"right"``: the reference of bilateral deficits is the other side.
    velocity_match_percent
        Two sets are at the same velocity when within this % of each other.
    norm_folders
        Folders of a lab's own normative reference sets, read beside the bundled ones (``api.norms``).
    """

    options: AnalysisOptions = field(default_factory=AnalysisOptions)
    thresholds: Thresholds = field(default_factory=Thresholds)
    body_mass_kg: float | None = None
    gravity_torque_nm: float | None = None
    horizontal_angle_deg: float | None = None
    involved_side: str | None = None
    velocity_match_percent: float = 10.0
    norm_folders: tuple[Path, ...] = ()


@dataclass(frozen=True)
class TrialInputs:
    """Everything :func:`analysis.analyze_recording` is given besides the samples."""

    joint: str
    pattern: str
    side: str
    body_mass_kg: float | None
    gravity_torque_nm: float | None
    horizontal_angle_deg: float | None
    markers: tuple[int, ...] | None
    source: str
    mode: str | None = None
    group: str | None = None
    set_velocity_dps: tuple[float, float] | None = None
    torque_unsigned: bool = False
    warnings: tuple[tuple[str, str], ...] = ()


def trial_metadata(trial: Trial) -> dict[str, str]:
    """The trial's stored metadata (``metadata_json``) as text by key; empty when absent or unreadable."""
    if not trial.metadata_json:
        return {}
    try:
        data = json.loads(trial.metadata_json)
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in data.items()}


def _number(text: str | None) -> float | None:
    try:
        value = float(text) if text is not None and text.strip() else None
    except ValueError:
        return None
    return value if value is not None and value == value and abs(value) != float("inf") else None


def _markers(text: str | None) -> tuple[int, ...] | None:
    if not text or not text.strip():
        return None
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        return None


def trial_inputs(trial: Trial, subject: Subject | None, settings: AnalysisSettings) -> TrialInputs:
    """Resolve the analysis inputs of a trial (request, then trial, then subject, then file)."""
    metadata = trial_metadata(trial)
    overridden = set(metadata.get(IMPORT_OVERRIDES_KEY, "").split(","))
    body_mass = settings.body_mass_kg
    if body_mass is None and "body_mass_kg" in overridden:
        body_mass = _number(metadata.get("body_mass_kg"))
    if body_mass is None and subject is not None:
        body_mass = subject.body_mass_kg
    if body_mass is None:
        body_mass = _number(metadata.get("body_mass_kg"))
    gravity = settings.gravity_torque_nm if settings.gravity_torque_nm is not None else trial.gravity_torque_nm
    horizontal = settings.horizontal_angle_deg if settings.horizontal_angle_deg is not None else trial.horizontal_angle_deg
    file_name = metadata.get("file_name")
    return TrialInputs(
        joint=trial.joint,
        pattern=trial.pattern,
        side=trial.side,
        body_mass_kg=body_mass,
        gravity_torque_nm=gravity,
        horizontal_angle_deg=horizontal if gravity is not None else None,
        markers=_markers(trial.markers),
        source=f"trial {trial.id} ({file_name})" if file_name else f"trial {trial.id}",
        warnings=tuple(sorted(warnings_of(metadata).items())),
        mode=trial.mode,
        group=trial.group,
        set_velocity_dps=(trial.velocity_plus_dps, trial.velocity_minus_dps)
        if trial.velocity_plus_dps > 0 and trial.velocity_minus_dps > 0 else None,
        torque_unsigned=metadata.get("torque_sign", "").strip().lower() == "unsigned",
    )


def data_fingerprints(session: Session, trial_ids: list[int]) -> dict[int, tuple[int, int]]:
    """``trial id -> (chunks, samples)`` stored, in one query (trials without samples are absent)."""
    if not trial_ids:
        return {}
    rows = session.execute(
        select(SampleChunk.trial_id, func.count(), func.sum(SampleChunk.sample_count))
        .where(SampleChunk.trial_id.in_(trial_ids))
        .group_by(SampleChunk.trial_id)
    )
    return {int(trial_id): (int(chunks), int(samples or 0)) for trial_id, chunks, samples in rows}


class AnalysisCache:
    """A bounded, thread-safe LRU of trial analyses.

    Parameters
    ----------
    max_entries
        Number of analyses kept; the least recently used is dropped beyond it.
    """

    def __init__(self, max_entries: int = 256) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, got {max_entries}")
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[Any, ...], RecordingAnalysis] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple[Any, ...]) -> RecordingAnalysis | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return found

    def put(self, key: tuple[Any, ...], value: RecordingAnalysis) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


def analyze_trial(
    session: Session,
    trial: Trial,
    subject: Subject | None,
    settings: AnalysisSettings,
    *,
    cache: AnalysisCache | None = None,
    fingerprint: tuple[int, int] | None = None,
) -> RecordingAnalysis:
    """Analyse one stored trial (from the cache when its samples and inputs are unchanged).

    Parameters
    ----------
    fingerprint
        ``(chunks, samples)`` of the trial from :func:`data_fingerprints`, when the caller
        already has it; looked up otherwise.

    Raises
    ------
    ConflictError
        When the trial has no samples yet.
    analysis.AnalysisError
        When nothing in the samples qualifies as a repetition (``NoRepetitionsError``).
    """
    if fingerprint is None:
        fingerprint = data_fingerprints(session, [trial.id]).get(trial.id, (0, 0))
    if fingerprint[1] == 0:
        raise ConflictError(
            f"trial {trial.id} has no samples yet (state {trial.state}): start it, or import a file into the session"
        )
    inputs = trial_inputs(trial, subject, settings)
    key = (trial.id, trial.created_at, fingerprint, inputs, settings.options)
    found = cache.get(key) if cache is not None else None
    if found is not None:
        return found
    block = read_samples(session, trial.id)
    result = analyze_recording(
        block.time_s,
        block.torque_nm,
        block.position_deg,
        block.velocity_dps,
        joint=inputs.joint,
        pattern=inputs.pattern,
        side=inputs.side,
        body_mass_kg=inputs.body_mass_kg,
        gravity_torque_nm=inputs.gravity_torque_nm,
        horizontal_angle_deg=inputs.horizontal_angle_deg,
        markers=inputs.markers,
        mode=inputs.mode,
        group=inputs.group,
        set_velocity_dps=inputs.set_velocity_dps,
        torque_unsigned=inputs.torque_unsigned,
        sample_index=block.sequence,
        warnings=dict(inputs.warnings),
        source=inputs.source,
        options=settings.options,
    )
    if cache is not None:
        cache.put(key, result)
    return result
