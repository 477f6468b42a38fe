"""Trials: create one in a session, weigh the limb, start, stop (or let it end), read its state and events."""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy import select

from api.acquisition.service import default_rom_deg
from api.deps import AcquisitionDep, IdPath, OperatorDep, PageDep, SessionDep, ViewerDep
from api.errors import ConflictError, InvalidInputError
from api.routes.common import AUTH_ERRORS, BAD_BODY, CONFLICT, NOT_FOUND, get_or_404, paginate, trial_in_use
from api.routes.device import DEVICE_ERRORS
from api.schemas.trials import (
    TrialCreate,
    TrialEventPublic,
    TrialEventsPublic,
    TrialPublic,
    TrialsPublic,
    WeighingPublic,
    WeighRequest,
)
from api.storage.models import LabSession, Protocol, Trial, TrialEvent

__all__ = ["router"]

router = APIRouter(tags=["trials"], responses=AUTH_ERRORS)


def _trial(session: SessionDep, trial_id: int) -> Trial:
    trial = get_or_404(session, Trial, trial_id, "trial")
    session.refresh(trial)
    return trial


@router.post(
    "/sessions/{session_id}/trials",
    response_model=TrialPublic,
    status_code=201,
    responses=BAD_BODY | NOT_FOUND,
    summary="Create a trial (one set on one side) in a session",
)
def create_trial(session_id: IdPath, body: TrialCreate, session: SessionDep, _: OperatorDep) -> TrialPublic:
    get_or_404(session, LabSession, session_id, "session")
    if body.protocol_id is not None:
        get_or_404(session, Protocol, body.protocol_id, "protocol")
    assert body.pattern is not None and body.velocity_plus_dps is not None and body.velocity_minus_dps is not None
    rom = default_rom_deg(body.joint, body.pattern)
    trial = Trial(
        session_id=session_id,
        protocol_id=body.protocol_id,
        joint=body.joint,
        pattern=body.pattern,
        side=body.side,
        mode=body.mode,
        group=body.group,
        velocity_plus_dps=body.velocity_plus_dps,
        velocity_minus_dps=body.velocity_minus_dps,
        repetitions=body.repetitions,
        rom_min_deg=rom[0] if body.rom_min_deg is None else body.rom_min_deg,
        rom_max_deg=rom[1] if body.rom_max_deg is None else body.rom_max_deg,
        sample_rate_hz=float(body.sample_rate_hz),
        state="created",
        source_format="isokin",
    )
    if body.mode != "isometric" and trial.rom_min_deg >= trial.rom_max_deg:  # type: ignore[operator]
        raise InvalidInputError(
            "rom_min_deg", f"must be below rom_max_deg ({trial.rom_min_deg:g} >= {trial.rom_max_deg:g})"
        )
    session.add(trial)
    session.commit()
    return TrialPublic.of(trial)


@router.get(
    "/sessions/{session_id}/trials", response_model=TrialsPublic, responses=NOT_FOUND, summary="List a session's trials"
)
def list_session_trials(session_id: IdPath, session: SessionDep, _: ViewerDep, page: PageDep) -> TrialsPublic:
    get_or_404(session, LabSession, session_id, "session")
    rows, count = paginate(session, select(Trial).where(Trial.session_id == session_id).order_by(Trial.id), page)
    return TrialsPublic(data=[TrialPublic.of(t) for t in rows], count=count)


@router.get("/trials/{trial_id}", response_model=TrialPublic, responses=NOT_FOUND, summary="A trial's state and figures")
def read_trial(trial_id: IdPath, session: SessionDep, _: ViewerDep) -> TrialPublic:
    return TrialPublic.of(_trial(session, trial_id))


@router.delete(
    "/trials/{trial_id}",
    status_code=204,
    response_class=Response,
    responses=NOT_FOUND | CONFLICT,
    summary="Delete a trial with its samples (not while it records)",
)
def delete_trial(trial_id: IdPath, session: SessionDep, service: AcquisitionDep, _: OperatorDep) -> None:
    trial = _trial(session, trial_id)
    if trial_in_use(service, trial):
        where = "" if trial.station_id == service.station_id else f" on station {trial.station_id}: stop it there"
        raise ConflictError(f"trial {trial_id} is {trial.state}{where or ': stop it before deleting it'}")
    session.delete(trial)
    session.commit()


@router.post(
    "/trials/{trial_id}/weigh",
    response_model=WeighingPublic,
    responses=BAD_BODY | NOT_FOUND | DEVICE_ERRORS,
    summary="Limb weighing: store a measured gravity torque, or sample the relaxed limb for about 1 s",
)
def weigh_trial(
    trial_id: IdPath, body: WeighRequest, session: SessionDep, service: AcquisitionDep, _: OperatorDep
) -> WeighingPublic:
    if body.gravity_torque_nm is not None:
        trial = _trial(session, trial_id)
        if trial_in_use(service, trial) or trial.state in ("recording", "weighing"):
            raise ConflictError(f"trial {trial_id} is {trial.state}: weigh before or after the recording")
        trial.gravity_torque_nm = body.gravity_torque_nm
        trial.horizontal_angle_deg = body.horizontal_angle_deg
        session.commit()
        return WeighingPublic(
            method="measured",
            gravity_torque_nm=body.gravity_torque_nm,
            horizontal_angle_deg=body.horizontal_angle_deg,
            samples=0,
            mean_position_deg=None,
            residual_rms_nm=None,
            trial=TrialPublic.of(trial),
        )
    weighing = service.weigh(
        trial_id, duration_s=body.duration_s, horizontal_angle_deg=body.horizontal_angle_deg, angle_deg=body.angle_deg
    )
    return WeighingPublic(
        method="recorded",
        gravity_torque_nm=weighing.gravity_torque_nm,
        horizontal_angle_deg=weighing.horizontal_angle_deg,
        samples=weighing.samples,
        mean_position_deg=weighing.mean_position_deg,
        residual_rms_nm=weighing.residual_rms_nm,
        trial=TrialPublic.of(_trial(session, trial_id)),
    )


@router.post(
    "/trials/{trial_id}/start",
    response_model=TrialPublic,
    responses=NOT_FOUND | DEVICE_ERRORS,
    summary="Configure the device with the trial's set and record it (it ends by itself after its repetitions)",
)
def start_trial(trial_id: IdPath, session: SessionDep, service: AcquisitionDep, _: OperatorDep) -> TrialPublic:
    service.start(trial_id)
    return TrialPublic.of(_trial(session, trial_id))


@router.post(
    "/trials/{trial_id}/stop",
    response_model=TrialPublic,
    responses=NOT_FOUND | CONFLICT,
    summary="Stop a recording trial; returns once its last samples are stored",
)
def stop_trial(trial_id: IdPath, session: SessionDep, service: AcquisitionDep, _: OperatorDep) -> TrialPublic:
    service.stop(trial_id)
    return TrialPublic.of(_trial(session, trial_id))


@router.get(
    "/trials/{trial_id}/events",
    response_model=TrialEventsPublic,
    responses=NOT_FOUND,
    summary="A trial's acquisition events: gaps, disconnections, reconnections, device events",
)
def list_trial_events(trial_id: IdPath, session: SessionDep, _: ViewerDep, page: PageDep) -> TrialEventsPublic:
    get_or_404(session, Trial, trial_id, "trial")
    query = select(TrialEvent).where(TrialEvent.trial_id == trial_id).order_by(TrialEvent.id)
    rows, count = paginate(session, query, page)
    return TrialEventsPublic(data=[TrialEventPublic.of(e) for e in rows], count=count)
