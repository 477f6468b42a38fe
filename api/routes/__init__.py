"""The REST resources under ``/api/v1``, one ``APIRouter`` per module, all registered here and only here."""

from fastapi import APIRouter

from api.routes import (
    analysis,
    audit,
    device,
    goals,
    health,
    history,
    imports,
    live,
    me,
    printed,
    protocols,
    reports,
    samples,
    sessions,
    stations,
    subjects,
    tokens,
    trials,
)

__all__ = ["api_router"]

api_router = APIRouter(prefix="/api/v1")
for _module in (
    health, me, subjects, sessions, protocols, tokens, audit,
    imports, analysis, reports, printed, history, goals,
    device, stations, trials, samples, live,
):  # fmt: skip
    api_router.include_router(_module.router)
