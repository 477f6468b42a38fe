"""Persistence: the SQLAlchemy models, the Alembic migrations and the sample-chunk store."""

from api.storage.database import Database, DatabaseState
from api.storage.models import ApiToken, Base, LabSession, Protocol, SampleChunk, Subject, Trial, TrialEvent
from api.storage.samples import SAMPLE_DTYPE, SampleBlock, append_samples, iter_samples, pack_samples, read_samples

__all__ = [
    "ApiToken",
    "Base",
    "Database",
    "DatabaseState",
    "LabSession",
    "Protocol",
    "SAMPLE_DTYPE",
    "SampleBlock",
    "SampleChunk",
    "Subject",
    "Trial",
    "TrialEvent",
    "append_samples",
    "iter_samples",
    "pack_samples",
    "read_samples",
]
