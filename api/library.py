"""The built-in protocol library, and its synchronisation into the ``protocols`` table.

Each protocol lists its sets once per side (left first, then right) with the same
repetitions. Ranges of motion follow DOMAIN.md's sign convention (position grows toward
the pattern's first-named direction; 0 = the joint's reference position). Velocities
and repetitions follow common clinical practice: 60 deg/s x 5 for strength, faster
sets with more repetitions, 180 deg/s x 25 for endurance (Biodex, HUMAC manuals). Isometric
protocols hold the lever at one angle (the knee at 60 deg of flexion, the shoulder at neutral
rotation) for maximal contractions of each group in turn, or of one group for an endurance set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.schemas.protocols import ProtocolCreate, TrialTemplateCreate
from api.storage.models import Protocol

__all__ = ["BUILTIN_PROTOCOLS", "BuiltinProtocol", "sync_builtin_protocols"]


@dataclass(frozen=True)
class BuiltinProtocol:
    """A library protocol: a stable key, its display name, and its sets (without side)."""

    key: str
    name: str
    description: str
    sets: tuple[dict[str, Any], ...]

    def as_create(self) -> ProtocolCreate:
        """The protocol with every set on the left, then the same sets on the right."""
        trials = [TrialTemplateCreate.model_validate(s | {"side": side}) for side in ("left", "right") for s in self.sets]
        return ProtocolCreate(name=self.name, description=self.description, trials=trials)


def _set(joint: str, velocity_dps: float, repetitions: int, rom: tuple[float, float], **options: Any) -> dict[str, Any]:
    return {
        "joint": joint,
        "velocity_dps": velocity_dps,
        "repetitions": repetitions,
        "rom_min_deg": rom[0],
        "rom_max_deg": rom[1],
        **options,
    }


def _isometric(joint: str, angle_deg: float, contractions: int, **options: Any) -> dict[str, Any]:
    """An isometric set: the lever held at ``angle_deg``; ``contractions`` of each group in turn, or of ``group``."""
    return {"joint": joint, "mode": "isometric", "repetitions": contractions, "rom_min_deg": angle_deg,
            "rom_max_deg": angle_deg, **options}  # fmt: skip


_KNEE = (0.0, 90.0)
_SHOULDER_ROT = (-60.0, 90.0)
_ANKLE_PF_DF = (-20.0, 40.0)
_ANKLE_INV_EV = (-20.0, 30.0)
_HIP_FLEX = (-10.0, 90.0)
_HIP_ABD = (-10.0, 40.0)
_ELBOW = (0.0, 130.0)
_WRIST = (-60.0, 60.0)

BUILTIN_PROTOCOLS: tuple[BuiltinProtocol, ...] = (
    BuiltinProtocol(
        "knee-con-60-180-300",
        "Knee flexion/extension con/con 60-180-300 deg/s",
        "Concentric strength at 60 deg/s (5 reps), 180 deg/s (10) and 300 deg/s (15): H:Q and bilateral deficits.",
        (_set("knee", 60, 5, _KNEE), _set("knee", 180, 10, _KNEE), _set("knee", 300, 15, _KNEE)),
    ),
    BuiltinProtocol(
        "knee-functional-hq",
        "Knee functional H:Q con/ecc 60 deg/s",
        "Quadriceps con/ecc then hamstrings con/ecc at 60 deg/s: Hecc/Qcon and Hcon/Qecc (Aagaard 1998).",
        (
            _set("knee", 60, 5, _KNEE, mode="con/ecc", group="extension"),
            _set("knee", 60, 5, _KNEE, mode="con/ecc", group="flexion"),
        ),
    ),
    BuiltinProtocol(
        "shoulder-er-ir",
        "Shoulder external/internal rotation con/con 60-180 deg/s",
        "Rotator cuff strength: ER:IR at 60 deg/s (5 reps) and 180 deg/s (10).",
        (
            _set("shoulder", 60, 5, _SHOULDER_ROT, pattern="external/internal rotation"),
            _set("shoulder", 180, 10, _SHOULDER_ROT, pattern="external/internal rotation"),
        ),
    ),
    BuiltinProtocol(
        "ankle-pf-df",
        "Ankle plantarflexion/dorsiflexion con/con 60-120 deg/s",
        "DF:PF at 60 deg/s (5 reps) and 120 deg/s (10).",
        (
            _set("ankle", 60, 5, _ANKLE_PF_DF, pattern="plantarflexion/dorsiflexion"),
            _set("ankle", 120, 10, _ANKLE_PF_DF, pattern="plantarflexion/dorsiflexion"),
        ),
    ),
    BuiltinProtocol(
        "ankle-inv-ev",
        "Ankle inversion/eversion con/con 60-120 deg/s",
        "EV:INV at 60 deg/s (5 reps) and 120 deg/s (10).",
        (
            _set("ankle", 60, 5, _ANKLE_INV_EV, pattern="inversion/eversion"),
            _set("ankle", 120, 10, _ANKLE_INV_EV, pattern="inversion/eversion"),
        ),
    ),
    BuiltinProtocol(
        "hip-flex-ext",
        "Hip flexion/extension con/con 60 deg/s",
        "Hip flexor and extensor strength at 60 deg/s (5 reps).",
        (_set("hip", 60, 5, _HIP_FLEX, pattern="flexion/extension"),),
    ),
    BuiltinProtocol(
        "hip-abd-add",
        "Hip abduction/adduction con/con 60 deg/s",
        "Hip abductor and adductor strength at 60 deg/s (5 reps).",
        (_set("hip", 60, 5, _HIP_ABD, pattern="abduction/adduction"),),
    ),
    BuiltinProtocol(
        "elbow-flex-ext",
        "Elbow flexion/extension con/con 60-180 deg/s",
        "Elbow flexor and extensor strength at 60 deg/s (5 reps) and 180 deg/s (10).",
        (_set("elbow", 60, 5, _ELBOW), _set("elbow", 180, 10, _ELBOW)),
    ),
    BuiltinProtocol(
        "wrist-flex-ext",
        "Wrist flexion/extension con/con 60-120 deg/s",
        "Wrist flexor and extensor strength at 60 deg/s (5 reps) and 120 deg/s (10).",
        (_set("wrist", 60, 5, _WRIST), _set("wrist", 120, 10, _WRIST)),
    ),
    BuiltinProtocol(
        "knee-isometric-60",
        "Knee isometric at 60 deg",
        "Maximal isometric extension and flexion at 60 deg of flexion, 3 contractions each: peak torque, rate of torque "
        "development, isometric H:Q and bilateral deficits at the same angle.",
        (_isometric("knee", 60.0, 3),),
    ),
    BuiltinProtocol(
        "shoulder-er-ir-isometric-0",
        "Shoulder external/internal rotation isometric at 0 deg",
        "Maximal isometric external and internal rotation at neutral rotation, 3 contractions each: isometric ER:IR.",
        (_isometric("shoulder", 0.0, 3, pattern="external/internal rotation"),),
    ),
    BuiltinProtocol(
        "knee-isometric-endurance-24",
        "Knee extension isometric endurance at 60 deg x 24",
        "24 maximal isometric knee extensions at 60 deg: impulse fatigue, endurance ratio and slope of peak torque.",
        (_isometric("knee", 60.0, 24, group="extension"),),
    ),
    BuiltinProtocol(
        "knee-endurance-25",
        "Knee flexion/extension endurance con/con 180 deg/s x 25",
        "25 repetitions at 180 deg/s: work fatigue and endurance ratio.",
        (_set("knee", 180, 25, _KNEE),),
    ),
)


def sync_builtin_protocols(session: Session) -> None:
    """Insert or refresh the library's rows (matched by ``key``) and commit.

    Safe when two processes start at once: a clash on the unique key rolls back and retries.
    """
    for attempt in range(2):
        try:
            _sync(session)
            session.commit()
            return
        except IntegrityError:
            session.rollback()
            if attempt:
                raise


def _sync(session: Session) -> None:
    stored = {p.key: p for p in session.scalars(select(Protocol).where(Protocol.builtin.is_(True)))}
    for builtin in BUILTIN_PROTOCOLS:
        create = builtin.as_create()
        trials = [t.model_dump() for t in create.trials]
        row = stored.get(builtin.key)
        if row is None:
            session.add(Protocol(key=builtin.key, name=create.name, description=create.description, builtin=True, trials=trials))
        elif (row.name, row.description, row.trials) != (create.name, create.description, trials):
            row.name, row.description, row.trials = create.name, create.description, trials
