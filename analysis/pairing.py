"""Which recordings may be compared with which: the pairing rule, stated and shown.

- **Ratios** (agonist/antagonist) pair sets of one recording, or of recordings of the same
  subject, the same session and the same side.
- **Bilateral deficits** pair the two sides of the same subject in the same session.
- Recordings of the **same subject in different sessions** are a **test-retest comparison**
  (the change of each figure, :mod:`analysis.retest`), never a ratio or a deficit.
- Recordings of **different subjects** are not compared at all.
- **Retakes**: of several sets of one condition on one side (the same joint, muscle group,
  contraction and velocity or angle, in one recording or on one known side of one session),
  only the strongest (highest peak torque) is paired; the others are listed as not paired
  (:mod:`analysis.compare`). Ten retakes a side would otherwise make a hundred deficits of
  one muscle group.

A recording's subject and session come from its metadata (HUMAC file names, Con-Trex
headers, the recording CSV's ``subject`` and ``started_at``; a stored trial's subject and
session). When either is unknown, the recording is compared only with itself, unless the
caller says the recordings are one session (``same_session``: ``isokin analyze
--same-session``, or a session report, whose trials are one subject's session by
construction). Sets that differ in gravity correction are never paired either: a corrected
and an uncorrected torque do not make a ratio.

:func:`plan_pairing` returns the groups of recordings that may be paired (one per subject and
session) and, in words, every pair of recordings that is not paired and why, so a report can
show the rule it applied.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from analysis.pipeline import RecordingAnalysis

__all__ = ["PAIRING_RULE", "PairingGroup", "PairingPlan", "plan_pairing"]

#: The rule in one sentence, as the report shows it.
PAIRING_RULE = (
    "ratios pair sets of one recording, or of recordings of the same subject, session and side; bilateral "
    "deficits pair the two sides of one subject in one session; different sessions of a subject are compared "
    "test-retest (change per figure), different subjects not at all; a recording whose subject or session is "
    "unknown is compared only with itself unless the recordings are declared one session; of several sets of one "
    "condition on one side (retakes), only the strongest is paired"
)


@dataclass(frozen=True, eq=False)
class PairingGroup:
    """Recordings (indices into the analysed list) that may be paired: one subject's session, or one recording."""

    recordings: tuple[int, ...]
    subject: str | None
    session: str | None

    def to_dict(self, analyses: Sequence[RecordingAnalysis]) -> dict[str, Any]:
        return {"subject": self.subject, "session": self.session,
                "recordings": [analyses[i].source for i in self.recordings]}  # fmt: skip


@dataclass(frozen=True, eq=False)
class PairingPlan:
    """The groups to pair within, the test-retest pairs of groups and what was left unpaired and why."""

    groups: tuple[PairingGroup, ...]
    retests: tuple[tuple[int, int], ...] = ()
    not_paired: tuple[tuple[tuple[int, ...], str], ...] = field(default_factory=tuple)
    same_session: bool = False

    def to_dict(self, analyses: Sequence[RecordingAnalysis]) -> dict[str, Any]:
        """JSON-ready: the rule, the groups (by recording name), and each unpaired pair with its reason."""
        return {
            "rule": PAIRING_RULE,
            "same_session": self.same_session,
            "groups": [g.to_dict(analyses) for g in self.groups],
            "not_paired": [{"recordings": [analyses[i].source for i in pair], "reason": reason}
                           for pair, reason in self.not_paired],  # fmt: skip
        }


def _who(a: RecordingAnalysis) -> str:
    return f"{a.source} (subject {a.subject or 'unknown'}, session {a.session or 'unknown'})"


def plan_pairing(analyses: Sequence[RecordingAnalysis], *, same_session: bool = False) -> PairingPlan:
    """Group recordings by subject and session (see the module docstring).

    Raises
    ------
    ValueError
        With ``same_session`` when the recordings name different subjects or sessions: the
        declaration contradicts their metadata.
    """
    if same_session:
        subjects = sorted({a.subject for a in analyses if a.subject})
        sessions = sorted({a.session for a in analyses if a.session})
        if len(subjects) > 1:
            raise ValueError(f"the recordings are declared one session but name different subjects: {', '.join(subjects)}")
        if len(sessions) > 1:
            raise ValueError(f"the recordings are declared one session but name different sessions: {', '.join(sessions)}")
        group = PairingGroup(tuple(range(len(analyses))), subjects[0] if subjects else None,
                             sessions[0] if sessions else None)  # fmt: skip
        return PairingPlan((group,), same_session=True)
    keys: dict[tuple[str, str], list[int]] = {}
    alone: list[int] = []
    for i, a in enumerate(analyses):
        if a.subject and a.session:
            keys.setdefault((a.subject, a.session), []).append(i)
        else:
            alone.append(i)
    groups = [PairingGroup(tuple(members), subject, session) for (subject, session), members in keys.items()]
    groups += [PairingGroup((i,), analyses[i].subject, analyses[i].session) for i in alone]
    groups.sort(key=lambda g: g.recordings[0])
    not_paired: list[tuple[tuple[int, ...], str]] = []
    retests: list[tuple[int, int]] = []
    for x, gx in enumerate(groups):
        for y in range(x + 1, len(groups)):
            gy = groups[y]
            i, j = gx.recordings[0], gy.recordings[0]  # a group's recordings share subject and session
            if gx.subject and gy.subject and gx.subject != gy.subject:
                reason = f"different subjects ({gx.subject}, {gy.subject}): not compared"
            elif gx.subject and gx.subject == gy.subject and gx.session and gy.session:
                retests.append((x, y) if gx.session <= gy.session else (y, x))
                reason = f"different sessions of {gx.subject} ({gx.session}, {gy.session}): compared test-retest, not paired"
            else:
                unknown = [analyses[k].source for k in (i, j) if not (analyses[k].subject and analyses[k].session)]
                reason = (f"subject or session unknown for {', '.join(unknown)}: compared only with itself "
                          "(declare the recordings one session to pair them)")
            not_paired.append((gx.recordings + gy.recordings, reason))
    return PairingPlan(tuple(groups), tuple(retests), tuple(not_paired))
