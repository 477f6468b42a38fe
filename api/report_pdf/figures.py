"""The report's figures, drawn with matplotlib as SVG text (no display, no pyplot state).

The curves are the recordings' own samples: torque corrected for gravity when the
analysis corrected it (same W and horizontal angle as the document says), unfiltered,
sliced at the repetitions' ``start_s`` / ``end_s``. Left is blue, right orange, in
every figure; each repetition is a thin line, the mean over repetitions a bold one.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from analysis import gravity_correct
from api.report_pdf.model import GroupTable, ReportView

__all__ = ["Curves", "SIDE_COLOURS", "BAND_COLOURS", "figures_for", "svg"]

SIDE_COLOURS = {"left": "#1f5fbf", "right": "#d9730d"}
BAND_COLOURS = {"normal": "#3a9d5d", "possible": "#e0a800", "probable": "#c62828"}

#: Points per repetition drawn at most (more add nothing on paper and bloat the SVG).
MAX_POINTS_PER_REP = 250
#: Points per torque-time trace drawn at most.
MAX_POINTS_PER_TRACE = 1500


@dataclass(frozen=True)
class Curves:
    """One recording's samples as the analysis saw them (s, N.m after gravity correction, deg)."""

    time_s: np.ndarray
    torque_nm: np.ndarray
    position_deg: np.ndarray

    @classmethod
    def of(cls, recording: Mapping[str, Any], time_s: np.ndarray, torque_nm: np.ndarray, position_deg: np.ndarray) -> Curves:
        """The curves of a ``recordings`` entry of the JSON from its raw samples (gravity as the entry says)."""
        torque = np.asarray(torque_nm, dtype=np.float64)
        if recording.get("gravity_corrected") and recording.get("gravity_torque_nm") is not None:
            torque = gravity_correct(
                torque, position_deg,
                gravity_torque_nm=float(recording["gravity_torque_nm"]),
                horizontal_angle_deg=float(recording.get("horizontal_angle_deg") or 0.0),
            )  # fmt: skip
        return cls(np.asarray(time_s, dtype=np.float64), torque, np.asarray(position_deg, dtype=np.float64))

    def between(self, start_s: float, end_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        lo, hi = np.searchsorted(self.time_s, [start_s, end_s], side="left")
        return self.time_s[lo : hi + 1], self.torque_nm[lo : hi + 1], self.position_deg[lo : hi + 1]


def svg(figure: Figure, *, salt: str) -> str:
    """A figure as SVG text (without the XML prolog, to inline in HTML); ids salted to stay unique on a page."""
    buffer = io.StringIO()
    with rc_context({"svg.hashsalt": salt, "svg.fonttype": "none"}):  # text as text: smaller, 2x faster to lay out
        figure.savefig(buffer, format="svg")
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    # ids (glyphs, clip paths, markers) must stay unique when several figures share one page
    ids = set(re.findall(r'\bid="([^"]+)"', text))
    text = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{salt}-{m.group(1)}"', text)
    return re.sub(r'(href="#|url\(#)([^")]+)', lambda m: m.group(1) + (f"{salt}-{m.group(2)}" if m.group(2) in ids else m.group(2)), text)


def _figure(width_in: float, height_in: float, ncols: int = 1, nrows: int = 1) -> tuple[Figure, list[Axes]]:
    figure = Figure(figsize=(width_in, height_in), dpi=100, layout="constrained")
    axes = figure.subplots(nrows, ncols, squeeze=False).ravel().tolist()
    for ax in axes:
        ax.grid(True, color="#dddddd", linewidth=0.5)
        ax.tick_params(labelsize=7)
        for spine in ("top", "right"):
            ax.spines[spine].set_visible(False)
    return figure, axes


def _grid(count: int) -> tuple[Figure, list[Axes]]:
    """``count`` panels, two to a row; the axes of the panels beyond ``count`` are hidden."""
    ncols, nrows = min(2, count), (count + 1) // 2
    figure, axes = _figure(3.6 * ncols, 2.2 * nrows, ncols=ncols, nrows=nrows)
    for ax in axes[count:]:
        ax.set_visible(False)
    return figure, axes[:count]


def _group_sign(pattern: str, direction: str) -> float:
    """+1 when the group acts toward increasing position (the pattern's first-named direction)."""
    return 1.0 if pattern.split("/")[0] == direction else -1.0


def _thin(*arrays: np.ndarray, limit: int) -> list[np.ndarray]:
    step = max(1, int(np.ceil(len(arrays[0]) / limit)))
    return [a[::step] for a in arrays]


def _mean_curve(reps: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray] | None:
    """Mean torque over repetitions on the angles every repetition covers (1 deg steps)."""
    if len(reps) < 2:
        return None
    lo = max(float(np.min(a)) for a, _ in reps)
    hi = min(float(np.max(a)) for a, _ in reps)
    if hi - lo < 2:
        return None
    grid = np.arange(np.ceil(lo), np.floor(hi) + 1.0)
    stack = []
    for angle, torque in reps:
        order = np.argsort(angle)
        stack.append(np.interp(grid, angle[order], torque[order]))
    return grid, np.mean(stack, axis=0)


def _overlay(document: dict[str, Any], table: GroupTable, curves: Mapping[int, Curves], salt: str) -> str | None:
    recordings = document["recordings"]
    figure, axes = _figure(3.6 * len(table.directions), 2.6, ncols=len(table.directions))
    drawn = False
    for ax, direction in zip(axes, table.directions):
        for side in ("left", "right"):
            where = table.sets.get((direction, side))
            if where is None or where[0] not in curves:
                continue
            recording = recordings[where[0]]
            set_ = recording["sets"][where[1]]
            sign = _group_sign(recording["pattern"], direction)
            reps = []
            for rep in set_.get("reps", []):
                _, torque, angle = curves[where[0]].between(rep["start_s"], rep["end_s"])
                if len(angle) < 2:
                    continue
                angle, torque = _thin(angle, sign * torque, limit=MAX_POINTS_PER_REP)
                reps.append((angle, torque))
                ax.plot(angle, torque, color=SIDE_COLOURS[side], linewidth=0.5, alpha=0.45)
            mean = _mean_curve(reps)
            if mean is not None:
                ax.plot(*mean, color=SIDE_COLOURS[side], linewidth=2.0, label=f"{side} (mean of {len(reps)})")
            drawn = drawn or bool(reps)
        ax.set_title(f"{direction} {table.contraction}", fontsize=8)
        ax.set_xlabel("angle (deg)", fontsize=7)
        ax.set_ylabel("torque (N.m)", fontsize=7)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=6, frameon=False)
    return svg(figure, salt=salt) if drawn else None


def _torque_time(document: dict[str, Any], table: GroupTable, curves: Mapping[int, Curves], salt: str) -> str | None:
    recordings = document["recordings"]
    figure, axes = _figure(7.2, 2.0, ncols=2)
    drawn = False
    for ax, side in zip(axes, ("left", "right")):
        where = [table.sets[(d, side)] for d in table.directions if (d, side) in table.sets]
        spans = [
            (rep["start_s"], rep["end_s"])
            for r_index, s_index in where
            for rep in recordings[r_index]["sets"][s_index].get("reps", [])
        ]
        indices = {r_index for r_index, _ in where}
        if not spans or len(indices) != 1 or next(iter(indices)) not in curves:
            ax.set_visible(False)
            continue
        time_s, torque, _ = curves[next(iter(indices))].between(min(s for s, _ in spans), max(e for _, e in spans))
        time_s, torque = _thin(time_s, torque, limit=MAX_POINTS_PER_TRACE)
        ax.plot(time_s - time_s[0], torque, color=SIDE_COLOURS[side], linewidth=0.7)
        ax.axhline(0, color="#888888", linewidth=0.5)
        ax.set_title(f"{side}: torque (+ toward {recordings[next(iter(indices))]['pattern'].split('/')[0]})", fontsize=8)
        ax.set_xlabel("time (s)", fontsize=7)
        ax.set_ylabel("torque (N.m)", fontsize=7)
        drawn = True
    return svg(figure, salt=salt) if drawn else None


def _deficit_bars(view: ReportView, salt: str) -> str | None:
    rows = view.deficits
    if not rows:
        return None
    values = [float(r["value"]) if r["value"] is not None else 0.0 for r in rows]
    figure, (ax,) = _figure(7.2, 0.35 * len(rows) + 0.9)
    y = np.arange(len(rows))[::-1]
    ax.barh(y, values, color=[BAND_COLOURS[r["band"]] for r in rows], height=0.6)
    ax.set_yticks(y, [f"{r['label']} ({r['side']})" for r in rows], fontsize=7)
    for limit in (view.bands["possible"], view.bands["probable"]):
        ax.axvline(limit, color="#555555", linewidth=0.7, linestyle="--")
    ax.axvline(0, color="#333333", linewidth=0.7)
    ax.set_xlim(min(0.0, min(values) - 2), max(view.bands["probable"] + 5, max(values) + 3))
    ax.set_xlabel("deficit (%)", fontsize=7)
    for yy, v in zip(y, values):
        ax.text(v + 0.5 if v >= 0 else v - 0.5, yy, f"{v:.1f}", va="center", ha="left" if v >= 0 else "right", fontsize=6)
    return svg(figure, salt=salt)


def _work_per_rep(view: ReportView, salt: str) -> str | None:
    if not view.endurance:
        return None
    keys = list(dict.fromkeys((e["direction"], e["contraction"], e["velocity"]) for e in view.endurance))
    figure, axes = _grid(len(keys))
    for ax, key in zip(axes, keys):
        for item in view.endurance:
            if (item["direction"], item["contraction"], item["velocity"]) != key:
                continue
            work = [np.nan if w is None else float(w) for w in item["work_values"]]
            ax.plot(np.arange(1, len(work) + 1), work, marker="o", markersize=2.5, linewidth=1,
                    color=SIDE_COLOURS.get(item["side"], "#444444"), label=item["side"])  # fmt: skip
        ax.set_title(" ".join(key), fontsize=8)
        ax.set_xlabel("repetition", fontsize=7)
        ax.set_ylabel("work (J)", fontsize=7)
        ax.legend(fontsize=6, frameon=False)
    return svg(figure, salt=salt)


def _angle_ratios(document: dict[str, Any], salt: str) -> str | None:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for ratio in document.get("ratios", []):
        if ratio.get("angle_specific") and ratio["angle_specific"].get("angle_deg"):
            key = (ratio["label"], f"{float(ratio['numerator']['velocity_dps']):.0f} deg/s")
            groups.setdefault(key, []).append(ratio)
    if not groups:
        return None
    keys = list(groups)
    figure, axes = _grid(len(keys))
    for ax, key in zip(axes, keys):
        for ratio in groups[key]:
            side = ratio["numerator"].get("side") or ""
            angle = ratio["angle_specific"]
            ax.plot(angle["angle_deg"], angle["value"], color=SIDE_COLOURS.get(side, "#444444"), linewidth=1.2, label=side)
        ax.axhline(1.0, color="#888888", linewidth=0.6, linestyle="--")
        ax.set_title(f"{key[0]} {key[1]}, angle by angle", fontsize=8)
        ax.set_xlabel("angle (deg)", fontsize=7)
        ax.set_ylabel("ratio", fontsize=7)
        ax.legend(fontsize=6, frameon=False)
    return svg(figure, salt=salt)


def figures_for(document: dict[str, Any], view: ReportView, curves: Mapping[int, Curves]) -> dict[str, Any]:
    """Every figure of the report as inline SVG text.

    Returns ``{"tables": [{"overlay": svg|None, "torque_time": svg|None}, ...] (one per view table),
    "deficits": svg|None, "endurance": svg|None, "angle_ratios": svg|None}``.
    """
    return {
        "tables": [
            {
                "overlay": _overlay(document, table, curves, f"ov{i}"),
                "torque_time": _torque_time(document, table, curves, f"tt{i}"),
            }
            for i, table in enumerate(view.tables)
        ],
        "deficits": _deficit_bars(view, "def"),
        "endurance": _work_per_rep(view, "end"),
        "angle_ratios": _angle_ratios(document, "ang"),
    }
