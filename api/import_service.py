"""Importing an uploaded file (vendor export or recording CSV) into a session as a complete trial.

The upload is written under its own name (which may carry metadata, as HUMAC's do) to a
private temporary directory and read by :func:`daq.importers.load_recording`, which
detects the format from the content. The trial takes its joint, pattern, side, mode,
velocities, repetitions and gravity torque from the upload's form fields, else from the
file's metadata; what neither gives is a 422 naming the form field to add. The file's
metadata is kept (``metadata_json``, text by key, with ``file_name`` and, under
``import_overrides``, the keys set from form fields), as are the device's repetition
markers; the samples are stored in chunks like a recorded trial's.

An import is all or nothing: every value is checked (with the rules of ``POST /trials``:
joint, pattern, mode and group together, velocities 0-600 deg/s, repetitions 1-100; a
sample rate that is a positive finite number; times strictly increasing in our own CSV;
the gravity correction within the form fields' bounds) before anything is stored, and
the trial and its samples are committed in one transaction.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
from pydantic import ValidationError
from sqlalchemy.orm import Session

from analysis import resolve_pattern, sample_rate_of
from analysis.errors import AnalysisError, UnknownJointError
from api.analysis_service import IMPORT_OVERRIDES_KEY
from api.errors import InvalidInputError
from api.schemas.common import DIRECTIONS
from api.schemas.trials import TrialCreate
from api.storage.models import LabSession, Trial, utcnow
from api.storage.samples import append_samples, pack_samples
from daq.errors import RecordingFormatError
from daq.importers import FORMATS, load_recording
from daq.recording import Recording

__all__ = ["CHUNK_SAMPLES", "ImportOverrides", "check_head", "import_file", "safe_file_name"]

#: Samples per stored chunk of an imported trial.
CHUNK_SAMPLES = 10_000

_MODES = ("con/con", "ecc/ecc", "con/ecc", "ecc/con", "isometric")
#: Characters never kept in a stored file name: controls, path separators, bidi overrides and isolates.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f/\\\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
#: Highest sample rate of a trial, Hz (as ``POST /trials``).
MAX_SAMPLE_RATE_HZ = 50_000


@dataclass(frozen=True)
class ImportOverrides:
    """Form fields of an upload; each given one replaces the file's value (units in the names)."""

    joint: str | None = None
    pattern: str | None = None
    side: str | None = None
    mode: str | None = None
    group: str | None = None
    velocity_dps: float | None = None
    velocity_plus_dps: float | None = None
    velocity_minus_dps: float | None = None
    repetitions: int | None = None
    body_mass_kg: float | None = None
    gravity_torque_nm: float | None = None
    horizontal_angle_deg: float | None = None


def safe_file_name(name: str | None) -> str:
    """The last component of an uploaded file's name, without control characters, at most 200 bytes."""
    base = PurePosixPath((name or "").replace("\\", "/")).name
    base = _UNSAFE.sub("_", base).strip()
    while len(base.encode("utf-8")) > 200:
        base = base[:-1]
    return base if base not in ("", ".", "..") else "upload"


def _load(raw: bytes, file_name: str, format: str | None) -> Recording:
    with tempfile.TemporaryDirectory(prefix="isokin-import-") as tmp:
        path = Path(tmp) / file_name
        path.write_bytes(raw)
        try:
            return load_recording(path, format=format)
        except RecordingFormatError as err:
            raise RecordingFormatError(str(err).replace(f"{tmp}/", "")) from err


_LINE_NUMBER = re.compile(r"\bline (\d+)\b")


def check_head(head: bytes, fields: dict[str, str], file_name: str) -> None:
    """Parse an upload's first lines as its whole will be; a bad line among them is the file's error.

    ``head`` is cut after its last complete line and read by the same importer as the
    whole file (``fields["format"]``, else detection). The importers report a row's
    problem with its line number (a non-numeric value, a wrong field count, time not
    increasing), which the rest of the file cannot change: such an error naming a line
    of the head is raised now. Anything else (a head too short to be a recording, say)
    is left to the whole file's parse.

    Raises
    ------
    daq.errors.RecordingFormatError
        A line of the head is bad.
    """
    end = head.rfind(b"\n")
    if end < 0:
        return
    head = head[: end + 1]
    requested = fields.get("format")
    fmt = requested if requested in FORMATS else None
    try:
        _load(head, safe_file_name(file_name), fmt)
    except RecordingFormatError as err:
        found = _LINE_NUMBER.search(str(err))
        if found is not None and int(found.group(1)) <= head.count(b"\n"):
            raise


def _missing(field: str, what: str) -> InvalidInputError:
    return InvalidInputError(field, f"the file does not state {what}: give the '{field}' form field", kind="missing")


def _invalid(field: str, message: str) -> InvalidInputError:
    return InvalidInputError(field, message)


def _velocities(overrides: ImportOverrides, metadata: dict[str, str]) -> tuple[float, float]:
    plus = overrides.velocity_plus_dps or overrides.velocity_dps
    minus = overrides.velocity_minus_dps or overrides.velocity_dps
    text = metadata.get("velocity_dps", "").strip()
    if (plus is None or minus is None) and text:
        parts = text.split("/")
        try:
            file_plus, file_minus = float(parts[0]), float(parts[-1])
        except ValueError:
            raise _invalid("velocity_dps", f"the file's velocity {text!r} is not a number: give the 'velocity_dps' form field") from None
        plus, minus = plus or file_plus, minus or file_minus
    if plus is None or minus is None:
        raise _missing("velocity_dps", "the set velocity")
    if not (0 < plus <= 600 and 0 < minus <= 600):
        raise _invalid("velocity_dps", f"the file's velocity {text!r} is not an isokinetic velocity (0-600 deg/s): give the 'velocity_dps' form field")
    return plus, minus


def _repetitions(overrides: ImportOverrides, recording: Recording) -> int:
    if overrides.repetitions is not None:
        return overrides.repetitions
    text = recording.metadata.get("repetitions", "").strip()
    if text.isascii() and text.isdigit() and len(text) <= 6 and int(text) > 0:
        return int(text)
    if text.isascii() and text.isdigit():
        raise _invalid("repetitions", f"the file's repetitions {text[:20]} is not 1-100: give the 'repetitions' form field")
    if recording.markers is not None and len(recording.markers) >= 3:
        return len(recording.markers) // 2  # markers bound the half-repetitions: 2 per repetition, plus one
    raise _missing("repetitions", "the number of repetitions")


def _resolved_metadata(recording: Recording, overrides: ImportOverrides, file_name: str) -> tuple[dict[str, str], list[str]]:
    given = {k: v for k, v in dataclasses.asdict(overrides).items() if v is not None}
    metadata = dict(recording.metadata)
    for key, value in given.items():
        metadata[key] = f"{value:g}" if isinstance(value, float) else str(value)
    if recording.notes:
        metadata["notes"] = "\n".join(recording.notes)
    metadata["file_name"] = file_name
    if given:
        metadata[IMPORT_OVERRIDES_KEY] = ",".join(sorted(given))
    return metadata, sorted(given)


def _meta_number(recording: Recording, key: str, *, low: float, high: float) -> float | None:
    try:
        value = recording.meta_float(key)
    except RecordingFormatError as err:
        raise _invalid(key, str(err).split(": ", 1)[-1]) from err
    if value is not None and not (math.isfinite(value) and low <= value <= high):
        raise _invalid(key, f"the file's {key} {value:g} is not within {low:g} to {high:g}: give the '{key}' form field")
    return value


def _isometric_angle(recording: Recording) -> float:
    """The angle an isometric recording's lever held: its median position (deg, to 0.1)."""
    return round(float(np.median(recording.position_deg)), 1) if len(recording) else 0.0


def _checked_set(
    joint: str, pattern: str, side: str, mode: str, group: str | None, plus: float, minus: float, repetitions: int,
    isometric_angle: float | None = None,
) -> None:
    """Apply ``POST /trials``' rules to an import's set (:class:`InvalidInputError` naming the form field)."""
    if group is not None and group not in DIRECTIONS:
        raise _invalid("group", f"the file's group {group[:40]!r} is not a direction ({', '.join(DIRECTIONS)}): give the 'group' form field")
    angle = {} if isometric_angle is None else {"rom_min_deg": isometric_angle, "rom_max_deg": isometric_angle}
    try:
        TrialCreate.model_validate(
            {"joint": joint, "side": side, "pattern": pattern, "mode": mode, "group": group, "velocity_dps": plus or 60,
             "velocity_plus_dps": plus or None, "velocity_minus_dps": minus or None, "repetitions": repetitions, **angle}
        )  # fmt: skip
    except ValidationError as err:
        first = err.errors()[0]
        message = str(first["msg"]).removeprefix("Value error, ")
        field = str(first["loc"][0]) if first["loc"] else message.split(":", 1)[0]
        raise _invalid(field if field in TrialCreate.model_fields else "file", message) from err


def _checked_rate(rate: float | None) -> float | None:
    if rate is not None and not (math.isfinite(rate) and 0 < rate <= MAX_SAMPLE_RATE_HZ):
        raise _invalid("file", f"the file's sample rate {rate:g} Hz is not a positive rate up to {MAX_SAMPLE_RATE_HZ} Hz")
    return rate


def _check_times(recording: Recording, file_name: str) -> None:
    """Our own CSV's times must increase strictly (as the HUMAC importer requires of its exports)."""
    steps = np.diff(recording.time_s)
    bad = np.flatnonzero(steps <= 0)
    if bad.size:
        i = int(bad[0]) + 1
        raise RecordingFormatError(
            f"{file_name}: time_s must increase strictly: sample {i + 1} ({recording.time_s[i]:g} s) "
            f"does not come after sample {i} ({recording.time_s[i - 1]:g} s)"
        )


def import_file(
    session: Session, lab_session: LabSession, raw: bytes, file_name: str, overrides: ImportOverrides, *, format: str | None = None
) -> Trial:
    """Read an uploaded file and store it as a complete trial of ``lab_session`` (committed).

    Raises
    ------
    daq.errors.RecordingFormatError
        When the file cannot be read (one line naming the file and the problem).
    api.errors.InvalidInputError
        When a value the trial needs is neither in the file nor in the form fields, or is invalid.

    Nothing is stored unless everything is.
    """
    recording = _load(raw, file_name, format)
    if not all(np.isfinite(getattr(recording, c)).all() for c in ("time_s", "torque_nm", "position_deg", "velocity_dps")):
        raise RecordingFormatError(f"{file_name}: holds non-numeric samples (nan or inf)")
    metadata = recording.metadata
    if metadata.get("source_format", "isokin").startswith("isokin"):
        _check_times(recording, file_name)
    joint = overrides.joint or metadata.get("joint", "").strip().lower() or None
    if joint is None:
        raise _missing("joint", "the joint")
    try:
        joint, pattern = resolve_pattern(joint, overrides.pattern or metadata.get("pattern", "").strip() or None)
    except UnknownJointError as err:
        raise _invalid("pattern" if overrides.pattern else "joint", str(err)) from err
    side = overrides.side or metadata.get("side", "").strip().lower() or None
    if side is None:
        raise _missing("side", "the side")
    if side not in ("left", "right"):
        raise _invalid("side", f"the file's side {side!r} is neither left nor right: give the 'side' form field")
    mode = overrides.mode or metadata.get("mode", "").strip() or None
    if mode is None:
        raise _missing("mode", "the contraction mode")
    if mode not in _MODES:
        raise _invalid("mode", f"the file's mode {mode!r} is not one of {', '.join(_MODES)}: give the 'mode' form field")
    isometric_angle = _isometric_angle(recording) if mode == "isometric" else None
    plus, minus = (0.0, 0.0) if isometric_angle is not None else _velocities(overrides, metadata)
    group = overrides.group or metadata.get("group", "").strip() or None
    repetitions = _repetitions(overrides, recording)
    _checked_set(joint, pattern, side, mode, group, plus, minus, repetitions, isometric_angle)
    stored, _ = _resolved_metadata(recording, overrides, file_name)
    gravity = (
        overrides.gravity_torque_nm if overrides.gravity_torque_nm is not None
        else _meta_number(recording, "gravity_torque_nm", low=-1000, high=1000)
    )  # fmt: skip
    horizontal = (
        overrides.horizontal_angle_deg if overrides.horizontal_angle_deg is not None
        else _meta_number(recording, "horizontal_angle_deg", low=-360, high=360)
    )  # fmt: skip
    rate = _meta_number(recording, "sample_rate_hz", low=-math.inf, high=math.inf)
    if rate is None and len(recording) > 1:
        try:
            rate = sample_rate_of(recording.time_s)
        except AnalysisError as err:
            raise RecordingFormatError(f"{file_name}: {err}") from err
    rate = _checked_rate(rate)
    n = len(recording)
    trial = Trial(
        session_id=lab_session.id,
        joint=joint,
        pattern=pattern,
        side=side,
        mode=mode,
        group=group,
        velocity_plus_dps=plus,
        velocity_minus_dps=minus,
        repetitions=repetitions,
        rom_min_deg=isometric_angle,
        rom_max_deg=isometric_angle,
        state="complete",
        source_format=metadata.get("source_format", "isokin")[:32],
        gravity_torque_nm=gravity,
        horizontal_angle_deg=horizontal,
        sample_rate_hz=rate,
        sample_count=n,
        markers=",".join(str(int(m)) for m in recording.markers) if recording.markers is not None else None,
        metadata_json=json.dumps(stored, ensure_ascii=False),
        duration_s=float(recording.time_s[-1] - recording.time_s[0]) if n else 0.0,
        end_reason="imported",
        ended_at=utcnow(),
    )
    session.add(trial)
    session.flush()
    status = recording.extra.get("status")
    sequence = recording.extra.get("sequence")
    rows = pack_samples(
        recording.time_s,
        recording.torque_nm,
        recording.position_deg,
        recording.velocity_dps,
        np.clip(status, 0, 2**32 - 1).astype(np.uint32) if status is not None else np.zeros(n, dtype=np.uint32),
        sequence.astype(np.int64) if sequence is not None else np.arange(n, dtype=np.int64),
    )
    for start in range(0, n, CHUNK_SAMPLES):
        append_samples(session, trial.id, rows[start : start + CHUNK_SAMPLES])
        session.flush()
    session.commit()
    return trial
