"""Request and response bodies, one module per resource (``XCreate``, ``XUpdate``, ``XPublic``, ``XsPublic``)."""

from api.schemas.common import Direction, ErrorPublic, Joint, Mode, Pattern, Sex, Side
from api.schemas.health import DatabaseHealth, DeviceHealth, HealthPublic
from api.schemas.protocols import (
    ProtocolCreate,
    ProtocolPublic,
    ProtocolsPublic,
    ProtocolUpdate,
    TrialTemplateCreate,
    TrialTemplatePublic,
)
from api.schemas.sessions import SessionCreate, SessionPublic, SessionsPublic, SessionUpdate
from api.schemas.subjects import SubjectCreate, SubjectPublic, SubjectsPublic, SubjectUpdate
from api.schemas.tokens import TokenCreate, TokenCreated, TokenPublic, TokensPublic

__all__ = [
    "DatabaseHealth",
    "DeviceHealth",
    "Direction",
    "ErrorPublic",
    "HealthPublic",
    "Joint",
    "Mode",
    "Pattern",
    "ProtocolCreate",
    "ProtocolPublic",
    "ProtocolUpdate",
    "ProtocolsPublic",
    "SessionCreate",
    "SessionPublic",
    "SessionUpdate",
    "SessionsPublic",
    "Sex",
    "Side",
    "SubjectCreate",
    "SubjectPublic",
    "SubjectUpdate",
    "SubjectsPublic",
    "TokenCreate",
    "TokenCreated",
    "TokenPublic",
    "TokensPublic",
    "TrialTemplateCreate",
    "TrialTemplatePublic",
]
