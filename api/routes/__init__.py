"""The REST resources under ``/api/v1``, one ``APIRouter`` per module."""

from fastapi import APIRouter

from api.routes import health, protocols, sessions, subjects, tokens

__all__ = ["api_router"]

api_router = APIRouter(prefix="/api/v1")
for _module in (health, subjects, sessions, protocols, tokens):
    api_router.include_router(_module.router)

