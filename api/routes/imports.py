"""``POST /sessions/{id}/imports``: upload a vendor export or a recording CSV as a complete trial."""

from __future__ import annotations

import json
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, UploadFile

from api.analysis_service import IMPORT_OVERRIDES_KEY
from api.deps import IdPath, OperatorDep, SessionDep
from api.import_service import ImportOverrides, import_file, safe_file_name
from api.routes.common import AUTH_ERRORS, BAD_BODY, NOT_FOUND, get_or_404
from api.schemas.common import Direction, Joint, Mode, Pattern, Side, ValidationErrorPublic
from api.schemas.imports import ImportPublic
from api.storage.models import LabSession, Trial

__all__ = ["router"]

router = APIRouter(prefix="/sessions", tags=["imports"], responses=AUTH_ERRORS)

#: The importable formats (the keys of ``daq.importers.FORMATS``).
FormatName = Literal["isokin-csv", "humac-csv", "contrex-ctm", "biodex-txt", "isomed-txt"]


def _public(trial: Trial) -> ImportPublic:
    metadata: dict[str, str] = json.loads(trial.metadata_json or "{}")
    overrides = metadata.get(IMPORT_OVERRIDES_KEY, "")
    return ImportPublic(
        id=trial.id,
        session_id=trial.session_id,
        state=trial.state,
        source_format=trial.source_format,
        file_name=metadata.get("file_name", ""),
        joint=trial.joint,  # type: ignore[arg-type]
        pattern=trial.pattern,  # type: ignore[arg-type]
        side=trial.side,  # type: ignore[arg-type]
        mode=trial.mode,  # type: ignore[arg-type]
        group=trial.group,  # type: ignore[arg-type]
        velocity_plus_dps=trial.velocity_plus_dps,
        velocity_minus_dps=trial.velocity_minus_dps,
        repetitions=trial.repetitions,
        sample_count=trial.sample_count,
        sample_rate_hz=trial.sample_rate_hz,
        duration_s=trial.duration_s,
        markers=[int(m) for m in trial.markers.split(",")] if trial.markers else None,
        gravity_torque_nm=trial.gravity_torque_nm,
        horizontal_angle_deg=trial.horizontal_angle_deg,
        metadata=metadata,
        overrides=overrides.split(",") if overrides else [],
        created_at=trial.created_at,
    )


@router.post(
    "/{session_id}/imports",
    response_model=ImportPublic,
    status_code=201,
    responses=BAD_BODY
    | NOT_FOUND
    | {
        422: {
            "model": ValidationErrorPublic,
            "description": "malformed, truncated or unknown file (the importer's one-line message), "
            "or a value the trial needs that neither the file nor the form gives",
        }
    },
    summary="Import a vendor export (HUMAC CSV, Con-Trex CTM, Biodex, IsoMed) or a recording CSV as a trial",
)
def create_import(
    session_id: IdPath,
    session: SessionDep,
    _: OperatorDep,
    file: Annotated[UploadFile, File(description="the export or recording file; its format is detected from the content")],
    format: Annotated[FormatName | None, Form(description="the file's format, when detection should not decide")] = None,
    joint: Annotated[Joint | None, Form(description="joint (overrides the file's)")] = None,
    pattern: Annotated[Pattern | None, Form(description="movement pattern (overrides the file's; default: the joint's first)")] = None,
    side: Annotated[Side | None, Form(description="side tested (overrides the file's)")] = None,
    mode: Annotated[Mode | None, Form(description="contraction mode (overrides the file's)")] = None,
    group: Annotated[Direction | None, Form(description="muscle group of a con/ecc or ecc/con set")] = None,
    velocity_dps: Annotated[
        float | None, Form(description="set velocity in deg/s, both directions (overrides the file's)", allow_inf_nan=False, gt=0, le=600)
    ] = None,
    velocity_plus_dps: Annotated[
        float | None, Form(description="velocity toward the pattern's first-named direction, deg/s", allow_inf_nan=False, gt=0, le=600)
    ] = None,
    velocity_minus_dps: Annotated[
        float | None, Form(description="velocity toward the pattern's second-named direction, deg/s", allow_inf_nan=False, gt=0, le=600)
    ] = None,
    repetitions: Annotated[int | None, Form(description="repetitions per direction (overrides the file's)", ge=1, le=100)] = None,
    body_mass_kg: Annotated[
        float | None, Form(description="body mass in kg for this trial's per-kg figures (default: the subject's)", allow_inf_nan=False, gt=0, le=400)
    ] = None,
    gravity_torque_nm: Annotated[
        float | None, Form(description="limb + lever torque with the segment horizontal, N.m (enables gravity correction)", allow_inf_nan=False, ge=-1000, le=1000)
    ] = None,
    horizontal_angle_deg: Annotated[
        float | None, Form(description="position where the segment is horizontal, deg (default 0)", allow_inf_nan=False, ge=-360, le=360)
    ] = None,
) -> ImportPublic:
    lab_session = get_or_404(session, LabSession, session_id, "session")
    overrides = ImportOverrides(
        joint=joint, pattern=pattern, side=side, mode=mode, group=group, velocity_dps=velocity_dps,
        velocity_plus_dps=velocity_plus_dps, velocity_minus_dps=velocity_minus_dps, repetitions=repetitions,
        body_mass_kg=body_mass_kg, gravity_torque_nm=gravity_torque_nm, horizontal_angle_deg=horizontal_angle_deg,
    )  # fmt: skip
    raw = file.file.read()
    trial = import_file(session, lab_session, raw, safe_file_name(file.filename), overrides, format=format)
    return _public(trial)
