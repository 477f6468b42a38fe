"""Re-test goals: targets for a subject's figures, their defaults, and how each session meets them.

A goal names a figure of the session report and a target:

- ``lsi``: the limb symmetry index of each bilateral comparison, % (e.g. >= 90 to return to sport);
- ``deficit``: the bilateral deficit, % (e.g. < 10, Sapega 1990's normal band);
- ``ratio``: an agonist/antagonist ratio, a fraction (e.g. Hcon/Qcon >= 0.47).

``label`` narrows it (the muscle group's direction for lsi and deficit, e.g. ``flexion``;
the ratio's label for ratios, e.g. ``Hcon/Qcon``), as do ``kind`` (ratio kind),
``contraction``, ``velocity_dps`` (within 10 %) and ``side`` (ratios); ``None`` means any.
Every figure of a session that matches is one *item*; the goal is met in that session
when every item meets the target, and *not measured* when none matches.

Progress compares an item with the same figure in the subject's first session that has
it **with the same gravity correction**: corrected and uncorrected values are never
compared (an uncorrected H:Q reads high, Aagaard 1995).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from analysis import THRESHOLD_SOURCES, Thresholds
from api.analysis_service import AnalysisCache, AnalysisSettings
from api.reporting import session_report
from api.storage.models import LabSession, RetestGoal, Subject

__all__ = [
    "COMPARISONS",
    "GoalSpec",
    "MEASURES",
    "default_goals",
    "evaluate",
    "goal_title",
    "report_goal_rows",
    "subject_progress",
]

MEASURES = ("lsi", "deficit", "ratio")
COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
}
#: A goal's velocity matches a set's within this fraction (as the analysis pairs sets).
VELOCITY_MATCH = 0.10


@dataclass(frozen=True)
class GoalSpec:
    """What a goal asks (the stored row's fields, without ids)."""

    measure: str
    comparison: str
    target: float
    kind: str | None = None
    label: str | None = None
    contraction: str | None = None
    velocity_dps: float | None = None
    side: str | None = None
    source: str = ""

    @classmethod
    def of(cls, row: Any) -> GoalSpec:
        """From any object with the goal's attributes (a stored row, a schema)."""
        return cls(**{name: getattr(row, name) for name in cls.__dataclass_fields__})


def _unit(measure: str) -> str:
    return "" if measure == "ratio" else " %"


def _decimals(measure: str) -> int:
    return 2 if measure == "ratio" else 1


def goal_title(goal: GoalSpec) -> str:
    """The goal in words, e.g. ``LSI, flexion concentric, 60 deg/s``."""
    name = {"lsi": "LSI", "deficit": "Deficit", "ratio": "Ratio"}[goal.measure]
    parts = [name if goal.measure != "ratio" else (goal.label or "Any ratio")]
    if goal.measure != "ratio":
        parts.append(" ".join(p for p in (goal.label or "every group", goal.contraction or "") if p))
    elif goal.kind:
        parts.append(goal.kind)
    if goal.velocity_dps is not None:
        parts.append(f"{goal.velocity_dps:g} deg/s")
    if goal.side:
        parts.append(f"{goal.side} side")
    return ", ".join(parts)


def _target_text(goal: GoalSpec) -> str:
    return f"{goal.comparison} {goal.target:.{_decimals(goal.measure)}f}{_unit(goal.measure)}"


def default_goals(thresholds: Thresholds, *, joints: Sequence[str] = ()) -> list[GoalSpec]:
    """Goals proposed from the configured flag thresholds, each with the threshold's source.

    LSI >= ``lsi_min_percent`` (return to sport) and a deficit under ``deficit_possible_percent``
    (Sapega 1990) for every group; for the knee (when ``joints`` is empty or holds it), conventional
    H:Q >= ``hq_conventional_min`` and the mixed ratio >= ``mixed_ratio_min`` (Ardern 2015).
    """
    goals = [
        GoalSpec("lsi", ">=", thresholds.lsi_min_percent, source=THRESHOLD_SOURCES["lsi_min_percent"]),
        GoalSpec("deficit", "<", thresholds.deficit_possible_percent, source=THRESHOLD_SOURCES["deficit_possible_percent"]),
    ]
    if not joints or "knee" in joints:
        goals.append(GoalSpec("ratio", ">=", thresholds.hq_conventional_min, kind="conventional", label="Hcon/Qcon",
                              source=THRESHOLD_SOURCES["hq_conventional_min"]))  # fmt: skip
        goals.append(GoalSpec("ratio", ">=", thresholds.mixed_ratio_min, kind="mixed",
                              source=THRESHOLD_SOURCES["mixed_ratio_min"]))  # fmt: skip
    return goals


# -- items: the figures of one session report that a goal concerns --------------------------------


@dataclass(frozen=True)
class Item:
    key: tuple[Any, ...]
    label: str
    value: float | None
    gravity_corrected: bool | None


def _velocity_ok(goal: GoalSpec, velocity_dps: float) -> bool:
    return goal.velocity_dps is None or abs(velocity_dps - goal.velocity_dps) <= VELOCITY_MATCH * goal.velocity_dps


def _velocity_key(velocity_dps: float) -> float:
    return float(5 * round(velocity_dps / 5))


def _corrected_by_trial(report: Mapping[str, Any]) -> dict[Any, bool]:
    return {r.get("trial_id", r.get("source")): bool(r.get("gravity_corrected")) for r in report.get("recordings", [])}


def _all_or_none(values: list[bool]) -> bool | None:
    if not values:
        return None
    return all(values) if all(values) or not any(values) else None


def _bilateral_corrected(report: Mapping[str, Any], b: Mapping[str, Any]) -> bool | None:
    """Whether both sides of a deficit were gravity-corrected (``None``: mixed or unknown)."""
    if "gravity_corrected" in b:
        return bool(b["gravity_corrected"])
    by_trial = _corrected_by_trial(report)
    if b.get("trial_ids"):
        return _all_or_none([by_trial[t] for t in b["trial_ids"] if t in by_trial])
    velocity = float(b["velocity_dps"])
    values = [
        bool(r.get("gravity_corrected"))
        for r in report.get("recordings", [])
        for s in r.get("sets", [])
        if s["direction"] == b["direction"] and s["contraction"] == b["contraction"]
        and abs(float(s["velocity_dps"]) - velocity) <= VELOCITY_MATCH * velocity
    ]  # fmt: skip
    return _all_or_none(values)


def _items(goal: GoalSpec, report: Mapping[str, Any]) -> list[Item]:
    items: list[Item] = []
    if goal.measure in ("lsi", "deficit"):
        for b in report.get("bilateral", []):
            if goal.label and b["direction"] != goal.label:
                continue
            if goal.contraction and b["contraction"] != goal.contraction:
                continue
            if not _velocity_ok(goal, float(b["velocity_dps"])):
                continue
            weaker = "left" if b["reference_side"] == "right" else "right"
            side = b.get("involved_side") or weaker
            velocity = _velocity_key(float(b["velocity_dps"]))
            items.append(Item(
                key=("bilateral", b["direction"], b["contraction"], velocity),
                label=f"{b['direction']} {b['contraction']} {velocity:g} deg/s ({side})",
                value=b.get("lsi_percent" if goal.measure == "lsi" else "deficit_percent"),
                gravity_corrected=_bilateral_corrected(report, b),
            ))  # fmt: skip
        return items
    by_trial = _corrected_by_trial(report)
    for r in report.get("ratios", []):
        num, den = r["numerator"], r["denominator"]
        if goal.kind and r["kind"] != goal.kind:
            continue
        if goal.label and r["label"] != goal.label:
            continue
        if goal.side and num.get("side") != goal.side:
            continue
        if not _velocity_ok(goal, float(num["velocity_dps"])):
            continue
        v_num, v_den = _velocity_key(float(num["velocity_dps"])), _velocity_key(float(den["velocity_dps"]))
        velocities = f"{v_num:g} deg/s" if v_num == v_den else f"{v_num:g}/{v_den:g} deg/s"
        terms = [by_trial.get(t.get("trial_id", t.get("source"))) for t in (num, den)]
        items.append(Item(
            key=("ratio", r["kind"], r["label"], num.get("side"), v_num, v_den),
            label=f"{r['label']} {r['kind']} {velocities} ({num.get('side') or 'side ?'})",
            value=r.get("value"),
            gravity_corrected=_all_or_none([t for t in terms if t is not None]),
        ))  # fmt: skip
    return items


# -- evaluation across sessions ---------------------------------------------------------------------


def evaluate(goal: GoalSpec, reports: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]]) -> list[dict[str, Any]]:
    """How each session meets a goal, with the progress since the subject's first test.

    Parameters
    ----------
    goal
        The goal.
    reports
        ``(session, report)`` pairs in date order: ``session`` holds ``session_id`` and ``date``,
        ``report`` is the session's report document.

    Returns
    -------
    list of dict
        One per session: ``session_id``, ``date``, ``status`` (``met``, ``not met``, ``not measured``)
        and ``items``: ``label``, ``value``, ``met``, ``gravity_corrected`` (``None`` when mixed or
        unknown), and ``first_session_id``, ``first_date``, ``first_value``, ``change`` (value minus
        the first value of the same figure with the same gravity correction; ``None`` in that first
        session or when there is none).
    """
    compare = COMPARISONS[goal.comparison]
    first: dict[tuple[Any, ...], tuple[Mapping[str, Any], float]] = {}
    out = []
    for session, report in reports:
        items = []
        for item in _items(goal, report):
            met = None if item.value is None else bool(compare(float(item.value), goal.target))
            key = (*item.key, item.gravity_corrected)
            entry: dict[str, Any] = {
                "label": item.label, "value": item.value, "met": met, "gravity_corrected": item.gravity_corrected,
                "first_session_id": None, "first_date": None, "first_value": None, "change": None,
            }  # fmt: skip
            if item.value is not None and item.gravity_corrected is not None:
                if key not in first:
                    first[key] = (session, float(item.value))
                else:
                    start, start_value = first[key]
                    entry |= {"first_session_id": start["session_id"], "first_date": start["date"],
                              "first_value": start_value, "change": float(item.value) - start_value}  # fmt: skip
            items.append(entry)
        known = [i["met"] for i in items if i["met"] is not None]
        status = "not measured" if not known else "met" if all(known) else "not met"
        out.append({"session_id": session["session_id"], "date": session["date"], "status": status, "items": items})
    return out


def report_goal_rows(goals: Sequence[tuple[GoalSpec, list[dict[str, Any]]]], session_id: int) -> list[dict[str, Any]]:
    """The printed report's goal rows for one session, from :func:`evaluate`'s results per goal."""
    rows = []
    for goal, sessions in goals:
        here = next((s for s in sessions if s["session_id"] == session_id), None)
        if here is None:
            continue
        decimals, unit = _decimals(goal.measure), _unit(goal.measure)
        items = []
        for item in here["items"]:
            value = item["value"]
            corrected = {True: "", False: " (uncorrected)", None: " (correction mixed)"}[item["gravity_corrected"]]
            items.append({
                "label": item["label"] + corrected,
                "value_text": "–" if value is None else f"{value:.{decimals}f}{unit}",
                "first_text": "this session" if item["first_value"] is None
                else f"{item['first_value']:.{decimals}f}{unit} ({item['first_date']})",
                "change_text": "–" if item["change"] is None else f"{item['change']:+.{decimals}f}{' points' if unit else ''}",
                "status": {True: "met", False: "not-met", None: "unknown"}[item["met"]],
                "status_text": {True: "met", False: "not met", None: "not evaluated"}[item["met"]],
            })  # fmt: skip
        rows.append({"title": goal_title(goal), "target_text": _target_text(goal), "source": goal.source, "items": items})
    return rows


# -- from the database ------------------------------------------------------------------------------


def subject_progress(
    session: Session,
    subject: Subject,
    settings: AnalysisSettings,
    *,
    cache: AnalysisCache | None = None,
    until: LabSession | None = None,
) -> tuple[list[dict[str, Any]], list[tuple[RetestGoal, list[dict[str, Any]]]]]:
    """Every goal of a subject evaluated on each of its sessions (in date order, up to ``until``).

    Returns the sessions (``session_id``, ``date``) and, per stored goal, :func:`evaluate`'s result.
    """
    query = select(LabSession).where(LabSession.subject_id == subject.id).order_by(LabSession.date, LabSession.id)
    sessions = list(session.scalars(query))
    if until is not None:
        sessions = sessions[: [s.id for s in sessions].index(until.id) + 1]
    goals = list(session.scalars(select(RetestGoal).where(RetestGoal.subject_id == subject.id).order_by(RetestGoal.id)))
    reports: list[tuple[Mapping[str, Any], Mapping[str, Any]]] = []
    if goals:
        for lab_session in sessions:
            entry = {"session_id": lab_session.id, "date": lab_session.date.isoformat()}
            reports.append((entry, session_report(session, lab_session, settings, cache=cache)))
    entries = [{"session_id": s.id, "date": s.date.isoformat()} for s in sessions]
    return entries, [(goal, evaluate(GoalSpec.of(goal), reports)) for goal in goals]
