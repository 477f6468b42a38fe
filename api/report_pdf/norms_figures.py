"""The report's figures of the normative comparison and of the angle-resolved LSI (matplotlib SVG, as ``figures``).

- :func:`norm_chart`: each compared figure as a percentage of its reference group's mean, on
  the band of the group's mean +/- 1 SD (dark) and +/- 2 SD (light); left blue, right orange.
- :func:`angle_lsi_chart`: per bilateral pair, the LSI at each angle on the band of the
  thresholds (stretches beyond them shaded red, the peak-torque LSI dashed), and beside it
  the agonist/antagonist ratio at each angle of both sides at the same velocity and contraction.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from api.report_pdf.figures import SIDE_COLOURS, _figure, svg

__all__ = ["angle_lsi_chart", "norm_chart"]

_BAND_DARK, _BAND_LIGHT, _FLAGGED = "#c9d3df", "#e8edf3", "#f4c7c3"


#: Rows of one normative chart: 24 rows make a figure of 8.6 in, under an A4 page's printable height.
NORM_ROWS_PER_CHART = 24


def norm_chart(view: dict[str, Any] | None, salt: str = "norm") -> list[str]:
    """Every compared figure against its reference group, in charts of at most :data:`NORM_ROWS_PER_CHART` rows.

    Empty when nothing was compared. Several charts rather than one tall one: a page breaks
    between them, and a chart taller than the page would be clipped.
    """
    rows = [r for r in (view or {}).get("rows", []) if r["ratio_to_mean"] is not None]
    chunks = [rows[k : k + NORM_ROWS_PER_CHART] for k in range(0, len(rows), NORM_ROWS_PER_CHART)]
    return [_norm_rows_chart(chunk, f"{salt}{k}") for k, chunk in enumerate(chunks)]


def _norm_rows_chart(rows: list[dict[str, Any]], salt: str) -> str:
    figure, (ax,) = _figure(7.2, 0.32 * len(rows) + 0.9)
    y = np.arange(len(rows))[::-1]
    widest = 0.0
    for yy, row in zip(y, rows):
        sd = row["sd_fraction"]
        if sd is not None:
            ax.barh(yy, 4 * sd * 100, left=100 - 2 * sd * 100, height=0.7, color=_BAND_LIGHT, linewidth=0)
            ax.barh(yy, 2 * sd * 100, left=100 - sd * 100, height=0.7, color=_BAND_DARK, linewidth=0)
            widest = max(widest, 2.2 * sd * 100)
        value = 100 * row["ratio_to_mean"]
        widest = max(widest, abs(value - 100) + 5)
        ax.plot([value], [yy], marker="o", markersize=5, color=SIDE_COLOURS.get(row["side"], "#444444"), linestyle="none")
        z = row["z"].text
        ax.text(value, yy + 0.38, f"z {z}" if row["z"].path and z != "–" else "no SD", fontsize=5.5, ha="center", va="center")
    ax.axvline(100, color="#333333", linewidth=0.7)
    ax.set_yticks(y, [r["label"] for r in rows], fontsize=6.5)
    ax.set_xlim(100 - widest, 100 + widest)
    ax.set_xlabel("% of the reference group's mean (band: mean +/- 1 SD dark, +/- 2 SD light)", fontsize=7)
    return svg(figure, salt=salt)


def _ratio_curves(document: dict[str, Any], b: dict[str, Any]) -> list[tuple[str, str, list[float], list[float]]]:
    """The angle-specific ratios at the pair's velocity and contraction: (side, label, angles, values)."""
    out = []
    for ratio in document.get("ratios", []):
        num, den, curve = ratio["numerator"], ratio["denominator"], ratio.get("angle_specific")
        if not curve or not curve.get("angle_deg") or ratio["joint"] != b["joint"] or ratio["pattern"] != b["pattern"]:
            continue
        if num["contraction"] != b["contraction"] or den["contraction"] != b["contraction"]:
            continue
        if abs(float(num["velocity_dps"]) - float(b["velocity_dps"])) > 0.1 * float(b["velocity_dps"]):
            continue
        out.append((num.get("side") or "", ratio["label"], curve["angle_deg"], curve["value"]))
    return out


def angle_lsi_chart(document: dict[str, Any], salt: str = "alsi") -> list[str]:
    """Per bilateral pair, one figure: the LSI angle by angle beside the ratio angle by angle (empty without a pair).

    One figure per pair, not one for all: a page breaks between them, and a protocol of
    three velocities (six pairs) would be taller than an A4 page, which clips a figure.
    """
    pairs = [b for b in document.get("bilateral", []) if b.get("angle_resolved") and b["angle_resolved"].get("angle_deg")]
    charts = []
    for k, b in enumerate(pairs):
        figure, (ax, ratio_ax) = _figure(7.2, 2.1, ncols=2)
        resolved = b["angle_resolved"]
        angle = np.asarray(resolved["angle_deg"], dtype=float)
        lsi = np.asarray(resolved["lsi_percent"], dtype=float)
        judged = np.asarray(resolved["judged"], dtype=bool)
        low, high = float(resolved["low_percent"]), float(resolved["high_percent"])
        ax.axhspan(low, high, color=_BAND_LIGHT, linewidth=0)
        for s in resolved["stretches"]:
            ax.axvspan(s["start_deg"], s["end_deg"], color=_FLAGGED, linewidth=0)
        ax.plot(angle, np.where(judged, lsi, np.nan), color="#333333", linewidth=1.3)
        ax.plot(angle, np.where(judged, np.nan, lsi), color="#999999", linewidth=0.8, linestyle=":")
        ax.axhline(float(b["lsi_percent"]), color="#555555", linewidth=0.7, linestyle="--")
        weak = "left" if resolved["reference_side"] == "right" else "right"
        ax.set_title(f"{b['direction']} {b['contraction']} {b['velocity_dps']:.0f} deg/s: LSI {weak}/{resolved['reference_side']}",
                     fontsize=7.5)
        judged_values = lsi[judged] if judged.any() else lsi
        ax.set_ylim(min(low - 10.0, float(np.min(judged_values)) - 5.0), max(high + 10.0, float(np.max(judged_values)) + 5.0))
        ax.set_xlabel("angle (deg)", fontsize=7)
        ax.set_ylabel("LSI (%)", fontsize=7)
        curves = _ratio_curves(document, b)
        for side, label, angles, values in curves:
            ratio_ax.plot(angles, values, color=SIDE_COLOURS.get(side, "#444444"), linewidth=1.2, label=f"{side} {label}")
        if curves:
            ratio_ax.axhline(1.0, color="#888888", linewidth=0.6, linestyle="--")
            ratio_ax.set_title(f"{curves[0][1]} at each angle, {b['velocity_dps']:.0f} deg/s", fontsize=7.5)
            ratio_ax.legend(fontsize=6, frameon=False)
        else:
            ratio_ax.text(0.5, 0.5, "no agonist/antagonist ratio at this velocity", ha="center", va="center", fontsize=7,
                          transform=ratio_ax.transAxes)  # fmt: skip
        ratio_ax.set_xlabel("angle (deg)", fontsize=7)
        ratio_ax.set_ylabel("ratio", fontsize=7)
        charts.append(svg(figure, salt=f"{salt}{k}"))
    return charts
