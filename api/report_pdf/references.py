"""Published reference values shown beside each agonist/antagonist ratio, with their sources (DOMAIN.md section 5).

Two kinds: the values of the normative reference sets for that ratio (any population, for
orientation: :func:`published_for_ratio`, from the document's ``norms`` section; the
matched group's z-score is in the report's normative table), and the rules of thumb the
primer cites that are no measured group (:data:`REFERENCES`: a functional ratio about 1.0,
shoulder ER/IR). A ratio without either shows the flag threshold only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["RatioReference", "REFERENCES", "published_for_ratio", "references_for"]


@dataclass(frozen=True)
class RatioReference:
    """A published value of one ratio.

    Attributes
    ----------
    joint, kind
        The joint and the ratio kind (``conventional``, ``functional``, ``eccentric``, ``mixed``).
    label
        The ratio's label as the analysis writes it (e.g. ``Hcon/Qcon``), or ``None`` for any label of the kind.
    pattern
        The movement pattern, or ``None`` for the joint's only ratio of that kind.
    velocity_dps
        The velocity it was measured at (deg/s), or ``None`` when it holds across velocities.
    text
        The value as printed (a number, a range or "about").
    source
        Where it comes from.
    """

    joint: str
    kind: str
    label: str | None
    pattern: str | None
    velocity_dps: float | None
    text: str
    source: str


REFERENCES: tuple[RatioReference, ...] = (
    RatioReference("knee", "functional", None, None, None, "about 1.0", "Aagaard et al. 1998, Am J Sports Med 26:231"),
    RatioReference("shoulder", "conventional", None, "external/internal rotation", None, "ER/IR 0.67-0.77",
                   "rule of thumb of isokinetic shoulder testing, IR/ER 1.3-1.5 (no single published group)"),
    RatioReference("shoulder", "functional", "ERecc/IRcon", "external/internal rotation", None, "slightly above 1",
                   "Gulick 2001"),
)  # fmt: skip

#: Two velocities (deg/s) match when within this fraction of each other (as the analysis pairs sets).
_VELOCITY_MATCH = 0.10


def published_for_ratio(document: dict[str, Any], ratio_index: int) -> list[dict[str, str]]:
    """Every source's value of a ratio (any population, for orientation), as the ratio table's references."""
    norms = document.get("norms") or {}
    path = f"ratios/{ratio_index}/value"
    found = next((c for c in norms.get("comparisons", []) if c["path"] == path), None)
    out = []
    for p in (found or {}).get("published", []):
        value = f"{p['mean_min']:.2f}" if p["mean_min"] == p["mean_max"] else f"{p['mean_min']:.2f}-{p['mean_max']:.2f}"
        unstated = [w for w, stated in (("velocity", p["velocity_stated"]), ("contraction", p["contraction_stated"])) if not stated]
        who = "a review" if p["sport"] == "unknown" else f"{p['sport']}, {p['sex']}"
        text = value + (f" ({p['groups']} groups)" if p["groups"] > 1 else "")
        source = f"{p['short']}, {who}" + (f"; {' and '.join(unstated)} not stated" if unstated else "")
        out.append({"text": text, "source": source})
    return out


def references_for(joint: str, pattern: str, kind: str, label: str, velocity_dps: float) -> list[RatioReference]:
    """The references that apply to a measured ratio (velocity in deg/s)."""
    found = []
    for ref in REFERENCES:
        if ref.joint != joint or ref.kind != kind:
            continue
        if ref.pattern is not None and ref.pattern != pattern:
            continue
        if ref.label is not None and ref.label != label:
            continue
        if ref.velocity_dps is not None and abs(velocity_dps - ref.velocity_dps) > _VELOCITY_MATCH * ref.velocity_dps:
            continue
        found.append(ref)
    return found
