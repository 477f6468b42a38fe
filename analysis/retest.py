"""Test-retest comparison: one subject's figures in two sessions, as changes, never as ratios.

For each figure present in both sessions (a set's peak torque, an agonist/antagonist ratio,
a bilateral deficit; matched by side, group, contraction and velocity or angle) the change
is reported: in % of the first session's value for peak torques and ratios, in percentage
points for deficits. A change is compared with the **smallest real difference** (SRD: the
change a measurement's own test-retest error explains 95 % of the time) when the caller
gives one with its source (``srd``: measure -> (value, source); % for peak torques and
ratios, points for deficits); none is bundled, since the shared reference folder holds no
published SRD, so by default ``beyond_srd`` is ``null`` and the report says why.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from analysis.bilateral import Bilateral
from analysis.ratios import Ratio
from analysis.repetition import _clean

__all__ = ["MEASURES", "Change", "Retest", "retest_changes"]

#: The measures a test-retest comparison reports, with the unit of their SRD.
MEASURES: Mapping[str, str] = {"peak_torque": "percent", "ratio": "percent", "deficit": "points"}

T = TypeVar("T")


@dataclass(frozen=True)
class SetFigure:
    """A set's peak torque in one session, with what identifies it across sessions."""

    side: str | None
    joint: str
    pattern: str
    direction: str
    contraction: str
    velocity_dps: float
    angle_deg: float | None
    peak_torque_nm: float
    source: str


@dataclass(frozen=True)
class Change:
    """One figure in two sessions and its change.

    ``change_percent`` (peak torques, ratios: 100 x (after - before) / before) or
    ``change_points`` (deficits: after - before, percentage points); ``srd`` (in the same
    unit), its ``srd_source`` and ``beyond_srd`` when an SRD was given, else ``None``.
    """

    measure: str
    label: str
    unit: str
    before: float
    after: float
    change_percent: float | None
    change_points: float | None
    srd: float | None
    srd_source: str | None
    beyond_srd: bool | None
    before_sources: tuple[str, ...]
    after_sources: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        out = {k: _clean(v) for k, v in self.__dict__.items()}
        out["before_sources"], out["after_sources"] = list(self.before_sources), list(self.after_sources)
        return out


@dataclass(frozen=True)
class Retest:
    """The changes of one subject's figures from ``before_session`` to ``after_session``."""

    subject: str
    before_session: str
    after_session: str
    changes: tuple[Change, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"subject": self.subject, "before_session": self.before_session, "after_session": self.after_session,
                "changes": [c.to_dict() for c in self.changes]}  # fmt: skip


def _near(a: float, b: float, tolerance: float) -> bool:
    return abs(a - b) <= tolerance * max(abs(a), abs(b)) if max(abs(a), abs(b)) > 0 else True


def _match(before: Sequence[T], after: Sequence[T], same: Callable[[T, T], bool]) -> list[tuple[T, T]]:
    return [(b, a) for b in before for a in after if same(b, a)]


def _change(measure: str, label: str, unit: str, before: float, after: float, sources: tuple[tuple[str, ...], tuple[str, ...]],
            srd: Mapping[str, tuple[float, str]]) -> Change:
    points = measure == "deficit"
    delta = after - before if points else (100.0 * (after - before) / before if before else None)
    limit = srd.get(measure)
    return Change(
        measure=measure, label=label, unit=unit, before=before, after=after,
        change_percent=None if points else delta, change_points=delta if points else None,
        srd=limit[0] if limit else None, srd_source=limit[1] if limit else None,
        beyond_srd=(abs(delta) > limit[0]) if limit and delta is not None else None,
        before_sources=sources[0], after_sources=sources[1],
    )  # fmt: skip


def retest_changes(
    subject: str,
    sessions: tuple[str, str],
    sets: tuple[Sequence[SetFigure], Sequence[SetFigure]],
    ratios: tuple[Sequence[Ratio], Sequence[Ratio]],
    bilaterals: tuple[Sequence[Bilateral], Sequence[Bilateral]],
    *,
    velocity_match_percent: float = 10.0,
    srd: Mapping[str, tuple[float, str]] | None = None,
) -> Retest:
    """The changes from the first session's figures to the second's (see the module docstring)."""
    tol = velocity_match_percent / 100
    limits = dict(srd or {})
    changes: list[Change] = []

    def same_set(b: SetFigure, a: SetFigure) -> bool:
        return ((b.side, b.joint, b.pattern, b.direction, b.contraction) == (a.side, a.joint, a.pattern, a.direction, a.contraction)
                and _near(b.velocity_dps, a.velocity_dps, tol)
                and (b.angle_deg is None or a.angle_deg is None or abs(b.angle_deg - a.angle_deg) <= 5.0))  # fmt: skip

    for b, a in _match(sets[0], sets[1], same_set):
        at = f"at {b.angle_deg:.0f} deg" if b.angle_deg is not None else f"{b.velocity_dps:.0f} deg/s"
        label = f"{b.side or 'side unknown'} {b.joint} {b.direction} {b.contraction} {at} peak torque"
        changes.append(_change("peak_torque", label, "N.m", b.peak_torque_nm, a.peak_torque_nm,
                               ((b.source,), (a.source,)), limits))

    def same_ratio(b: Ratio, a: Ratio) -> bool:
        return ((b.kind, b.label, b.joint, b.pattern, b.numerator.side) == (a.kind, a.label, a.joint, a.pattern, a.numerator.side)
                and _near(b.numerator.velocity_dps, a.numerator.velocity_dps, tol)
                and _near(b.denominator.velocity_dps, a.denominator.velocity_dps, tol))  # fmt: skip

    for rb, ra in _match(ratios[0], ratios[1], same_ratio):
        label = (f"{rb.numerator.side or 'side unknown'} {rb.joint} {rb.label} "
                 f"{rb.numerator.velocity_dps:.0f}/{rb.denominator.velocity_dps:.0f} deg/s")
        changes.append(_change("ratio", label, "fraction", rb.value, ra.value,
                               ((rb.numerator.source, rb.denominator.source), (ra.numerator.source, ra.denominator.source)),
                               limits))  # fmt: skip

    def same_deficit(b: Bilateral, a: Bilateral) -> bool:
        return ((b.joint, b.pattern, b.direction, b.contraction) == (a.joint, a.pattern, a.direction, a.contraction)
                and _near(b.velocity_dps, a.velocity_dps, tol))

    for bb, ba in _match(bilaterals[0], bilaterals[1], same_deficit):
        label = f"{bb.joint} {bb.direction} {bb.contraction} {bb.velocity_dps:.0f} deg/s bilateral deficit"
        changes.append(_change("deficit", label, "percent", bb.deficit_percent, ba.deficit_percent,
                               ((bb.left_source, bb.right_source), (ba.left_source, ba.right_source)), limits))
    return Retest(subject, sessions[0], sessions[1], tuple(changes))
