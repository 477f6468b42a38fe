"""Published reference values for agonist/antagonist ratios, with their sources (DOMAIN.md section 5).

Each reference names the ratio it applies to (joint, numerator and denominator groups and
contractions) and, where the literature gives one, the velocity (deg/s). The report shows
the reference matching a measured ratio beside it; a ratio without one shows the flag
threshold only. Normative tables by age and sex are the norms issue's; these are the
single values the primer cites.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RatioReference", "REFERENCES", "references_for"]


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
    RatioReference("knee", "conventional", None, None, 60, "0.61", "Daneshjoo 2012, PLoS ONE e50979"),
    RatioReference("knee", "conventional", None, None, 180, "0.72", "Daneshjoo 2012, PLoS ONE e50979"),
    RatioReference("knee", "conventional", None, None, 300, "0.78", "Daneshjoo 2012, PLoS ONE e50979"),
    RatioReference("knee", "functional", None, None, None, "about 1.0", "Aagaard et al. 1998, Am J Sports Med 26:231"),
    RatioReference("ankle", "conventional", None, "plantarflexion/dorsiflexion", None, "DF/PF about 0.36",
                   "Biodex System 3, 200 ankles (da Fonseca)"),
    RatioReference("ankle", "conventional", None, "inversion/eversion", None, "EV/INV about 0.89",
                   "Biodex System 3, 200 ankles (da Fonseca)"),
    RatioReference("shoulder", "conventional", None, "external/internal rotation", None, "ER/IR 0.67-0.77",
                   "IR/ER 1.3-1.5 (DOMAIN.md section 5)"),
    RatioReference("shoulder", "functional", "ERecc/IRcon", "external/internal rotation", None, "slightly above 1",
                   "Gulick 2001"),
)  # fmt: skip

#: Two velocities (deg/s) match when within this fraction of each other (as the analysis pairs sets).
_VELOCITY_MATCH = 0.10


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
