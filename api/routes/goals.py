"""``/subjects/{id}/goals`` and ``/goals/{id}``: re-test goals, their defaults and each session's progress."""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy import select

from api.deps import AnalysisCacheDep, AnalysisSettingsDep, IdPath, OperatorDep, SessionDep, ViewerDep
from api.errors import InvalidInputError
from api.goals import GoalSpec, default_goals, goal_title, subject_progress
from api.routes.common import AUTH_ERRORS, BAD_BODY, NOT_FOUND, get_or_404
from api.schemas.goals import (
    GoalCreate,
    GoalDefaultsPublic,
    GoalProgressPublic,
    GoalPublic,
    GoalsProgressPublic,
    GoalsPublic,
    GoalUpdate,
    goal_problem,
)
from api.storage.models import LabSession, RetestGoal, Subject, Trial

__all__ = ["router"]

router = APIRouter(tags=["goals"], responses=AUTH_ERRORS)


def goal_public(row: RetestGoal) -> GoalPublic:
    fields = {name: getattr(row, name) for name in GoalPublic.model_fields if name != "title"}
    return GoalPublic(**fields, title=goal_title(GoalSpec.of(row)))


@router.get("/subjects/{subject_id}/goals", response_model=GoalsPublic, responses=NOT_FOUND, summary="A subject's re-test goals")
def list_goals(subject_id: IdPath, session: SessionDep, _: ViewerDep) -> GoalsPublic:
    get_or_404(session, Subject, subject_id, "subject")
    rows = list(session.scalars(select(RetestGoal).where(RetestGoal.subject_id == subject_id).order_by(RetestGoal.id)))
    return GoalsPublic(data=[goal_public(r) for r in rows], count=len(rows))


@router.get(
    "/subjects/{subject_id}/goals/defaults",
    response_model=GoalDefaultsPublic,
    responses=NOT_FOUND,
    summary="Goals proposed from the configured flag thresholds (with their sources), for the subject's joints",
)
def read_default_goals(subject_id: IdPath, session: SessionDep, _: ViewerDep, settings: AnalysisSettingsDep) -> GoalDefaultsPublic:
    get_or_404(session, Subject, subject_id, "subject")
    joints = list(session.scalars(
        select(Trial.joint).join(LabSession, Trial.session_id == LabSession.id).where(LabSession.subject_id == subject_id).distinct()
    ))  # fmt: skip
    data = [GoalCreate(**vars(spec)) for spec in default_goals(settings.thresholds, joints=joints)]
    return GoalDefaultsPublic(data=data, count=len(data))


@router.post(
    "/subjects/{subject_id}/goals",
    response_model=GoalPublic,
    status_code=201,
    responses=BAD_BODY | NOT_FOUND,
    summary="Set a re-test goal for a subject",
)
def create_goal(subject_id: IdPath, body: GoalCreate, session: SessionDep, _: OperatorDep) -> GoalPublic:
    get_or_404(session, Subject, subject_id, "subject")
    row = RetestGoal(subject_id=subject_id, **body.model_dump())
    session.add(row)
    session.commit()
    return goal_public(row)


@router.patch("/goals/{goal_id}", response_model=GoalPublic, responses=BAD_BODY | NOT_FOUND, summary="Change a re-test goal")
def update_goal(goal_id: IdPath, body: GoalUpdate, session: SessionDep, _: OperatorDep) -> GoalPublic:
    row = get_or_404(session, RetestGoal, goal_id, "goal")
    changes = body.model_dump(exclude_unset=True)
    for name in ("measure", "comparison", "target", "source", "notes"):
        if name in changes and changes[name] is None:
            raise InvalidInputError(name, "cannot be null")
    merged = {name: changes.get(name, getattr(row, name)) for name in ("measure", "kind", "label", "contraction", "side")}
    problem = goal_problem(**merged)
    if problem is not None:
        raise InvalidInputError(*problem)
    for name, value in changes.items():
        setattr(row, name, value)
    session.commit()
    return goal_public(row)


@router.delete("/goals/{goal_id}", status_code=204, response_class=Response, responses=NOT_FOUND, summary="Delete a re-test goal")
def delete_goal(goal_id: IdPath, session: SessionDep, _: OperatorDep) -> None:
    session.delete(get_or_404(session, RetestGoal, goal_id, "goal"))
    session.commit()


@router.get(
    "/subjects/{subject_id}/goals/progress",
    response_model=GoalsProgressPublic,
    responses=NOT_FOUND,
    summary="Each goal on each session: met or not, and the change since the first test (same gravity correction)",
)
def read_goal_progress(
    subject_id: IdPath, session: SessionDep, _: ViewerDep, settings: AnalysisSettingsDep, cache: AnalysisCacheDep
) -> GoalsProgressPublic:
    subject = get_or_404(session, Subject, subject_id, "subject")
    progress = subject_progress(session, subject, settings, cache=cache)[1]
    goals = [GoalProgressPublic.model_validate({"goal": goal_public(g), "sessions": per_session}) for g, per_session in progress]
    return GoalsProgressPublic(subject_id=subject_id, goals=goals)
