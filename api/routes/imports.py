"""``POST /sessions/{id}/imports``: upload a vendor export or a recording CSV as a complete trial.

The upload is read as it arrives (:func:`api.uploads.read_upload`): the token is checked
first, then the file's first 64 KiB are parsed as the whole file will be, so a file bad
at its third line is refused at its third line, not after its last byte arrived.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from api.analysis_service import IMPORT_OVERRIDES_KEY
from api.deps import IdPath, OperatorDep, SessionDep
from api.errors import InvalidInputError
from api.import_service import ImportOverrides, check_head, import_file, safe_file_name
from api.routes.common import AUTH_ERRORS, BAD_BODY, NOT_FOUND, get_or_404
from api.schemas.common import ErrorPublic, ValidationErrorPublic
from api.schemas.imports import FormatName, ImportForm, ImportPublic, import_request_body
from api.storage.models import LabSession, Trial
from api.uploads import read_upload

__all__ = ["FormatName", "router"]

router = APIRouter(prefix="/sessions", tags=["imports"], responses=AUTH_ERRORS)


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
        408: {"model": ErrorPublic, "description": "the upload did not arrive within ISOKIN_BODY_TIMEOUT_S"},
        422: {
            "model": ValidationErrorPublic,
            "description": "malformed, truncated or unknown file (the importer's one-line message, as soon as the "
            "file's first 64 KiB show it), or a value the trial needs that neither the file nor the form gives",
        },
    },
    openapi_extra=import_request_body(),
    summary="Import a vendor export (HUMAC CSV, Con-Trex CTM, Biodex, IsoMed) or a recording CSV as a trial",
)
async def create_import(session_id: IdPath, request: Request, session: SessionDep, _: OperatorDep) -> ImportPublic:
    lab_session = await run_in_threadpool(get_or_404, session, LabSession, session_id, "session")
    upload = await read_upload(request, check_head=check_head)
    form = _form(upload.fields)
    overrides = ImportOverrides(**form.model_dump(exclude={"format"}))
    file_name = safe_file_name(upload.file_name)
    assert upload.file is not None
    trial = await run_in_threadpool(
        import_file, session, lab_session, bytes(upload.file), file_name, overrides, format=form.format
    )
    return _public(trial)


def _form(fields: dict[str, str]) -> ImportForm:
    """The upload's form fields checked (empty ones are absent, as a browser sends unset fields)."""
    try:
        return ImportForm.model_validate({k: v for k, v in fields.items() if v != ""})
    except ValidationError as err:
        first = err.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "file"
        message = "unknown form field" if first["type"] == "extra_forbidden" else str(first["msg"])
        raise InvalidInputError(name[:64], message, kind=str(first["type"])) from None
