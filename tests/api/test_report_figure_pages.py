"""The report's angle-by-angle figures fit an A4 page, however many groups a protocol measures."""

from __future__ import annotations

import re
from typing import Any

from api.report_pdf.norms_figures import angle_lsi_chart

#: The PDF's printable height: A4 (297 mm) less the page margins of report.html.j2 (14 + 16 mm), in pt.
PRINTABLE_HEIGHT_PT = (297 - 14 - 16) / 25.4 * 72


def _pair(direction: str, velocity_dps: float) -> dict[str, Any]:
    angle = list(range(2, 89))
    lsi = [75.0 if direction == "flexion" else 99.0 for _ in angle]
    return {
        "joint": "knee", "pattern": "flexion/extension", "direction": direction, "contraction": "concentric",
        "velocity_dps": velocity_dps, "lsi_percent": lsi[0],
        "angle_resolved": {
            "angle_deg": angle, "lsi_percent": lsi, "judged": [True] * len(angle), "low_percent": 90.0,
            "high_percent": 110.0, "reference_side": "right",
            "stretches": [{"start_deg": 2.0, "end_deg": 88.0}] if direction == "flexion" else [],
        },
    }  # fmt: skip


def test_each_bilateral_pair_is_a_figure_no_taller_than_a_page() -> None:
    # a knee protocol at 60, 180 and 300 deg/s on both sides: six pairs (one figure for all was 12.6 in, clipped)
    document = {"bilateral": [_pair(d, v) for v in (60.0, 180.0, 300.0) for d in ("extension", "flexion")], "ratios": []}
    charts = angle_lsi_chart(document)
    assert len(charts) == 6
    for chart in charts:
        height_pt = float(re.search(r'<svg[^>]*\bheight="([\d.]+)pt"', chart).group(1))  # type: ignore[union-attr]
        assert 0 < height_pt < PRINTABLE_HEIGHT_PT / 3
    titles = [re.search(r"(\w+ concentric \d+ deg/s: LSI left/right)", c).group(1) for c in charts]  # type: ignore[union-attr]
    assert titles == [f"{d} concentric {v} deg/s: LSI left/right" for v in (60, 180, 300) for d in ("extension", "flexion")]
    ids = [i for c in charts for i in re.findall(r'\bid="([^"]+)"', c)]
    assert len(ids) == len(set(ids))  # unique on one page
    assert angle_lsi_chart({"bilateral": [], "ratios": []}) == []


def test_the_normative_chart_is_split_into_figures_no_taller_than_a_page() -> None:
    from api.report_pdf.model import Cell
    from api.report_pdf.norms_figures import NORM_ROWS_PER_CHART, norm_chart

    def row(k: int) -> dict[str, Any]:
        return {"label": f"figure {k}", "side": "left" if k % 2 else "right", "ratio_to_mean": 0.9 + k / 500,
                "sd_fraction": 0.15, "z": Cell(text="-0.67", path=f"norms/comparisons/{k}/z")}  # fmt: skip

    charts = norm_chart({"rows": [row(k) for k in range(50)]})
    assert len(charts) == 3 and NORM_ROWS_PER_CHART == 24  # 24 + 24 + 2 rows
    for chart in charts:
        height_pt = float(re.search(r'<svg[^>]*\bheight="([\d.]+)pt"', chart).group(1))  # type: ignore[union-attr]
        assert 0 < height_pt < PRINTABLE_HEIGHT_PT
    labels = [k for c in charts for k in map(int, re.findall(r"figure (\d+)", c))]
    assert sorted(set(labels)) == list(range(50))  # every row drawn once, none lost between charts
    ids = [i for c in charts for i in re.findall(r'\bid="([^"]+)"', c)]
    assert len(ids) == len(set(ids))
    assert norm_chart({"rows": []}) == [] and norm_chart(None) == []
