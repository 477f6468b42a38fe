"""The printed report's contents, taken from the analyze JSON document (``analysis/README.md``).

:func:`report_view` turns a report document (``GET /sessions/{id}/report`` or
``isokin analyze --json``) into plain rows and cells for the template. It computes
nothing the document does not hold, except the per-set summaries the tables need
(figures of the repetition of peak torque, means over repetitions) and the deficit of
figures other than peak torque, with the document's own formula and reference side.
Every cell keeps the path of the JSON value it shows (``data-path``), and the
decimals it is printed with, so a test can check each printed figure against the JSON.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from analysis.compare import SAME_ANGLE_DEG
from api.report_pdf.references import published_for_ratio, references_for

__all__ = ["Cell", "GroupTable", "ReportView", "deficit", "fmt", "report_view", "value_at"]

#: Two set velocities (deg/s) belong to one table when within this fraction (the analysis' default match).
VELOCITY_MATCH = 0.10

DASH = "–"


def fmt(value: float | None, decimals: int) -> str:
    """A figure as printed: fixed decimals, a dash when it could not be computed."""
    if value is None:
        return DASH
    return f"{value:.{decimals}f}"


@dataclass(frozen=True)
class Cell:
    """A printed figure: its text, and where it comes from in the JSON (for checks)."""

    text: str
    path: str = ""
    decimals: int | None = None
    #: how the figure is derived from the paths: "" (the value at ``path``), "mean" or "deficit"
    derive: str = ""
    css: str = ""

    @classmethod
    def of(cls, value: float | None, decimals: int, path: str = "", derive: str = "", css: str = "") -> Cell:
        return cls(fmt(value, decimals), path, decimals, derive, css)


EMPTY = Cell("")


@dataclass
class Row:
    label: str
    cells: list[Cell]


@dataclass
class GroupTable:
    """Sets of one contraction and velocity: one column group (Left | Right | Deficit %) per direction."""

    title: str
    contraction: str
    velocity_dps: float
    directions: list[str]
    rows: list[Row]
    #: (direction, side) -> (recording index, set index) of the sets shown
    sets: dict[tuple[str, str], tuple[int, int]]
    #: direction -> index in ``bilateral``
    bilateral: dict[str, int]


@dataclass
class ReportView:
    header: list[tuple[str, str]]
    verdict: list[str]
    verdict_from_flags: bool
    tables: list[GroupTable]
    ratios: list[dict[str, Any]]
    deficits: list[dict[str, Any]]
    bands: dict[str, Any]
    endurance: list[dict[str, Any]]
    flags: list[dict[str, Any]]
    processing: list[tuple[str, str]]
    left_out: list[str]
    goals: list[dict[str, Any]] = field(default_factory=list)


# -- helpers ------------------------------------------------------------------------------------


def _rep_of_peak(set_: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
    index = set_.get("peak_torque_rep")
    for i, rep in enumerate(set_.get("reps", [])):
        if rep.get("index") == index:
            return i, rep
    return None


def _mean(values: Sequence[float | None]) -> float | None:
    numbers = [v for v in values if v is not None]
    return sum(numbers) / len(numbers) if numbers else None


def deficit(reference: float | None, other: float | None) -> float | None:
    """Biodex deficit, %: (reference - other) / reference x 100 (DOMAIN.md section 5)."""
    if reference is None or other is None or reference == 0:
        return None
    return (reference - other) / reference * 100.0


def _velocity_text(velocity_dps: float) -> str:
    return f"{velocity_dps:.0f} deg/s"


# -- the set tables -----------------------------------------------------------------------------

#: (label, decimals, how to read the value from a set, deficit shown)
_Getter = Callable[[dict[str, Any], str], tuple[float | None, str, str]]


def _set_field(name: str) -> _Getter:
    def get(set_: dict[str, Any], path: str) -> tuple[float | None, str, str]:
        return set_.get(name), f"{path}/{name}", ""

    return get


def _peak_rep_field(name: str) -> _Getter:
    def get(set_: dict[str, Any], path: str) -> tuple[float | None, str, str]:
        found = _rep_of_peak(set_)
        if found is None:
            return None, "", ""
        i, rep = found
        return rep.get(name), f"{path}/reps/{i}/{name}", ""

    return get


def _rep_mean(name: str) -> _Getter:
    def get(set_: dict[str, Any], path: str) -> tuple[float | None, str, str]:
        return _mean([r.get(name) for r in set_.get("reps", [])]), f"{path}/reps/*/{name}", "mean"

    return get


def _rows(parameters: dict[str, Any]) -> list[tuple[str, int, _Getter, bool]]:
    analysis = parameters.get("analysis", {})
    angle = analysis.get("torque_angle_deg")
    time_s = analysis.get("torque_time_s")
    return [
        ("Repetitions", 0, _set_field("repetitions"), False),
        ("Peak torque (N.m)", 1, _set_field("peak_torque_nm"), True),
        ("Repetition of peak torque", 0, _set_field("peak_torque_rep"), False),
        ("Mean peak torque (N.m)", 1, _set_field("mean_peak_torque_nm"), True),
        ("Peak torque / body mass (N.m/kg)", 2, _set_field("peak_torque_per_kg"), True),
        ("Angle of peak torque (deg)", 0, _peak_rep_field("angle_at_peak_deg"), False),
        ("Time to peak torque (s)", 2, _peak_rep_field("time_to_peak_s"), False),
        (f"Torque at {fmt(angle, 0)} deg (N.m)", 1, _peak_rep_field("torque_at_angle_nm"), True),
        (f"Torque at {fmt(time_s, 2)} s (N.m)", 1, _peak_rep_field("torque_at_time_nm"), True),
        ("CV of peak torque (%)", 1, _set_field("cv_percent"), False),
        ("Total work (J)", 1, _set_field("total_work_j"), True),
        ("Work / body mass (J/kg)", 2, _set_field("work_per_kg"), True),
        ("Work fatigue (%)", 1, _set_field("work_fatigue_percent"), False),
        ("Average power (W)", 1, _rep_mean("mean_power_w"), True),
        ("Acceleration time (s)", 3, _rep_mean("acceleration_time_s"), False),
        ("Deceleration time (s)", 3, _rep_mean("deceleration_time_s"), False),
        ("Range of motion (deg)", 0, _rep_mean("rom_deg"), False),
    ]


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= VELOCITY_MATCH * max(abs(a), abs(b))


def _peak(set_: dict[str, Any]) -> float:
    peak = set_.get("peak_torque_nm")
    return float(peak) if peak is not None else float("-inf")


def _compared_set(document: dict[str, Any], b: dict[str, Any], side: str) -> tuple[int, int] | None:
    """(recording index, set index) of the set a bilateral comparison took on ``side``."""
    for r_index, recording in enumerate(document.get("recordings", [])):
        if recording.get("source") != b[f"{side}_source"]:
            continue
        for s_index, set_ in enumerate(recording.get("sets", [])):
            same_angle = b.get("angle_deg") is None or abs(float(set_.get("angle_deg") or 0) - float(b["angle_deg"])) <= SAME_ANGLE_DEG
            if ((set_["direction"], set_["contraction"]) == (b["direction"], b["contraction"]) and same_angle
                    and _close(float(set_["velocity_dps"]), float(b["velocity_dps"]))):  # fmt: skip
                return r_index, s_index
    return None


def _group_tables(document: dict[str, Any]) -> list[GroupTable]:
    """One table per contraction and velocity, with the left and right set of each direction: the sets its
    bilateral comparison compares, else a side's strongest set of it (retakes: :mod:`analysis.compare`)."""
    tables: list[GroupTable] = []
    for r_index, recording in enumerate(document.get("recordings", [])):
        side = recording.get("side") or "?"
        for s_index, set_ in enumerate(recording.get("sets", [])):
            contraction, velocity = set_["contraction"], float(set_["velocity_dps"])
            table = next(
                (t for t in tables if t.contraction == contraction and _close(t.velocity_dps, velocity)), None
            )
            if table is None:
                title = f"{contraction.capitalize()} {_velocity_text(velocity)}"
                table = GroupTable(title, contraction, velocity, [], [], {}, {})
                tables.append(table)
            direction = set_["direction"]
            if direction not in table.directions:
                table.directions.append(direction)
            shown = table.sets.get((direction, side))
            if shown is None or _peak(set_) > _peak(document["recordings"][shown[0]]["sets"][shown[1]]):
                table.sets[(direction, side)] = (r_index, s_index)
    for table in tables:
        for b_index, b in enumerate(document.get("bilateral", [])):
            if b["contraction"] == table.contraction and _close(float(b["velocity_dps"]), table.velocity_dps):
                table.bilateral.setdefault(b["direction"], b_index)
        for direction, b_index in table.bilateral.items():  # show the sets the deficit compares
            for side in ("left", "right"):
                compared = _compared_set(document, document["bilateral"][b_index], side)
                if compared is not None:
                    table.sets[(direction, side)] = compared
        _fill_rows(document, table)
    return tables


def _fill_rows(document: dict[str, Any], table: GroupTable) -> None:
    recordings = document["recordings"]
    bilateral = document.get("bilateral", [])
    for label, decimals, getter, with_deficit in _rows(document.get("parameters", {})):
        cells: list[Cell] = []
        for direction in table.directions:
            values: dict[str, tuple[float | None, str]] = {}
            for side in ("left", "right"):
                where = table.sets.get((direction, side))
                if where is None:
                    cells.append(EMPTY)
                    continue
                r_index, s_index = where
                path = f"recordings/{r_index}/sets/{s_index}"
                value, value_path, derive = getter(recordings[r_index]["sets"][s_index], path)
                values[side] = (value, value_path)
                cells.append(Cell.of(value, decimals, value_path, derive))
            b_index = table.bilateral.get(direction)
            if not with_deficit or b_index is None or len(values) < 2:
                cells.append(EMPTY)
                continue
            b = bilateral[b_index]
            if label.startswith("Peak torque (N.m)"):
                cells.append(Cell.of(b.get("deficit_percent"), 1, f"bilateral/{b_index}/deficit_percent", css="deficit"))
                continue
            reference = b["reference_side"]
            other = "left" if reference == "right" else "right"
            (ref_value, ref_path), (other_value, other_path) = values[reference], values[other]
            if "*" in ref_path:  # a mean's deficit is not checkable from one path: show it, path-less
                cells.append(Cell.of(deficit(ref_value, other_value), 1, css="deficit"))
            else:
                cells.append(Cell.of(deficit(ref_value, other_value), 1, f"{ref_path}|{other_path}", "deficit", "deficit"))
        table.rows.append(Row(label, cells))


# -- ratios, deficits, endurance, flags, processing ----------------------------------------------


def _ratios(document: dict[str, Any]) -> list[dict[str, Any]]:
    thresholds = document.get("parameters", {}).get("thresholds", {})
    sources = document.get("parameters", {}).get("threshold_sources", {})
    rows = []
    for i, ratio in enumerate(document.get("ratios", [])):
        num, den = ratio["numerator"], ratio["denominator"]
        velocity = float(num["velocity_dps"])
        if abs(velocity - float(den["velocity_dps"])) > VELOCITY_MATCH * velocity:
            velocities = f"{float(num['velocity_dps']):.0f} / {float(den['velocity_dps']):.0f} deg/s"
        else:
            velocities = _velocity_text(velocity)
        references = published_for_ratio(document, i) + [
            {"text": r.text, "source": r.source}
            for r in references_for(ratio["joint"], ratio["pattern"], ratio["kind"], ratio["label"], velocity)
        ]
        threshold_name = {"conventional": "hq_conventional_min", "mixed": "mixed_ratio_min"}.get(ratio["kind"])
        if threshold_name and ratio["joint"] == "knee" and threshold_name in thresholds:
            source = sources.get(threshold_name, "").split(":")[0]
            references.append({"text": f">= {thresholds[threshold_name]:.2f} (flag threshold)", "source": source})
        angle = ratio.get("angle_specific") or {}
        rows.append({
            "label": ratio["label"], "kind": ratio["kind"], "side": num.get("side") or "",
            "velocities": velocities, "value": Cell.of(ratio.get("value"), 2, f"ratios/{i}/value"),
            "crossing": fmt(angle.get("crossing_angle_deg"), 0) if angle else "",
            "references": references,
            "terms": f"{num.get('source', '')} / {den.get('source', '')}" if num.get("source") != den.get("source") else num.get("source", ""),
        })  # fmt: skip
    return rows


def _bands(document: dict[str, Any]) -> dict[str, Any]:
    thresholds = document.get("parameters", {}).get("thresholds", {})
    sources = document.get("parameters", {}).get("threshold_sources", {})
    possible = float(thresholds.get("deficit_possible_percent", 10.0))
    probable = float(thresholds.get("deficit_probable_percent", 20.0))
    source = sources.get("deficit_possible_percent", "")
    return {
        "possible": possible,
        "probable": probable,
        "source": source.split(":")[0] if source else "",
        "labels": (
            f"under {possible:g} %: normal",
            f"{possible:g}-{probable:g} %: possibly abnormal",
            f"{probable:g} % or more: probably abnormal",
        ),
    }


def band_of(deficit_percent: float | None, bands: dict[str, Any]) -> str:
    """``normal``, ``possible`` or ``probable`` (a deficit in %, against the configured bands)."""
    if deficit_percent is None or deficit_percent < bands["possible"]:
        return "normal"
    return "possible" if deficit_percent < bands["probable"] else "probable"


def _deficits(document: dict[str, Any], bands: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for i, b in enumerate(document.get("bilateral", [])):
        reference = b["reference_side"]
        weaker = "left" if reference == "right" else "right"
        rows.append({
            "label": f"{b['direction']} {b['contraction']} {_velocity_text(float(b['velocity_dps']))}",
            "left": Cell.of(b.get("left_nm"), 1, f"bilateral/{i}/left_nm"),
            "right": Cell.of(b.get("right_nm"), 1, f"bilateral/{i}/right_nm"),
            "deficit": Cell.of(b.get("deficit_percent"), 1, f"bilateral/{i}/deficit_percent"),
            "lsi": Cell.of(b.get("lsi_percent"), 1, f"bilateral/{i}/lsi_percent"),
            "side": b.get("involved_side") or weaker,
            "reference": reference + ("" if b.get("involved_side") else " (stronger)"),
            "band": band_of(b.get("deficit_percent"), bands),
            "value": b.get("deficit_percent"),
        })  # fmt: skip
    return rows


#: Sets with at least this many repetitions get the endurance section (work per repetition).
ENDURANCE_MIN_REPETITIONS = 10


def _endurance(document: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for r_index, recording in enumerate(document.get("recordings", [])):
        for s_index, set_ in enumerate(recording.get("sets", [])):
            if int(set_.get("repetitions", 0)) < ENDURANCE_MIN_REPETITIONS:
                continue
            out.append({
                "side": recording.get("side") or "", "direction": set_["direction"], "contraction": set_["contraction"],
                "velocity": _velocity_text(float(set_["velocity_dps"])),
                "work_values": [rep.get("work_j") for rep in set_.get("reps", [])],
                "work": [Cell.of(rep.get("work_j"), 1, f"recordings/{r_index}/sets/{s_index}/reps/{i}/work_j")
                         for i, rep in enumerate(set_.get("reps", []))],
                "fatigue": Cell.of(set_.get("work_fatigue_percent"), 1, f"recordings/{r_index}/sets/{s_index}/work_fatigue_percent"),
                "endurance_ratio": Cell.of(set_.get("endurance_ratio"), 2, f"recordings/{r_index}/sets/{s_index}/endurance_ratio"),
                "slope": Cell.of(set_.get("fatigue_slope_nm_per_rep"), 2,
                                 f"recordings/{r_index}/sets/{s_index}/fatigue_slope_nm_per_rep"),
            })  # fmt: skip
    return out


def _flags(document: dict[str, Any]) -> list[dict[str, Any]]:
    order = {"flag": 0, "warning": 1}
    flags = sorted(document.get("flags", []), key=lambda f: order.get(f.get("severity", ""), 2))
    return [
        {
            "severity": f.get("severity", ""),
            "rule": f.get("rule", ""),
            "subject": f.get("subject", ""),
            "message": f.get("message", ""),
            "threshold": f"{f.get('threshold_name', '')} = {f.get('threshold', 0):g}" if f.get("threshold_name") else "",
            "source": f.get("source", ""),
        }
        for f in flags
    ]


def _verdict(document: dict[str, Any]) -> tuple[list[str], bool]:
    """The document's verdict lines when it has them, else one line per clinical flag."""
    lines = document.get("verdict")
    if isinstance(lines, list) and lines:
        return [line if isinstance(line, str) else str(line.get("text") or line.get("line") or line) for line in lines], False
    flags = [f for f in document.get("flags", []) if f.get("severity") == "flag"]
    if not flags:
        return ["No clinical flag was raised by the configured thresholds."], True
    return [f"{f.get('subject', '')}: {f.get('message', '')} ({f.get('source', '').split(':')[0]})" for f in flags], True


def _processing(document: dict[str, Any]) -> tuple[list[tuple[str, str]], list[str]]:
    parameters = document.get("parameters", {})
    a = parameters.get("analysis", {})
    cutoff = a.get("cutoff_hz")
    if cutoff is None:
        filtering = "none: the raw signal was analysed"
    elif a.get("noise_limit_percent") is None:
        filtering = f"zero-lag Butterworth, order {a.get('filter_order')}, {cutoff:g} Hz for torque and velocity"
    else:
        filtering = (
            f"zero-lag Butterworth, order {a.get('filter_order')}; velocity {cutoff:g} Hz; torque per set: the highest "
            f"cut-off up to {cutoff:g} Hz leaving noise under {a.get('noise_limit_percent'):g} % of the peak, at least "
            f"{a.get('min_cutoff_hz'):g} Hz and {a.get('cutoff_cycles'):g} periods per load range"
        )
    items = [
        ("Filter", filtering),
        ("Load range (window)", f"speed within {a.get('window_tolerance_percent', 0):g} % of the set velocity, "
                                f"after any overshoot over {a.get('overshoot_percent', 0):g} % has settled"),
        ("Repetitions", f"movements over {a.get('min_speed_dps', 0):g} deg/s, at least {a.get('min_rom_deg', 0):g} deg "
                        f"and {a.get('min_duration_s', 0):g} s; device markers {'used when present' if a.get('use_markers') else 'ignored'}"),
        ("Same velocity", f"sets within {parameters.get('velocity_match_percent', 10):g} % pair into ratios and deficits"),
        ("Involved side", parameters.get("involved_side") or "none marked: the stronger side is the reference"),
    ]  # fmt: skip
    for recording in document.get("recordings", []):
        name = recording.get("source", "")
        gravity = (
            f"corrected, W = {recording['gravity_torque_nm']:.1f} N.m at {recording.get('horizontal_angle_deg') or 0:g} deg"
            if recording.get("gravity_corrected") else "not corrected (no limb weighing)"
        )  # fmt: skip
        cutoffs = ", ".join(
            f"{s['direction']} {s['contraction']} {fmt(s.get('cutoff_hz'), 1)} Hz" for s in recording.get("sets", [])
        )
        text = (
            f"{recording.get('side') or 'side ?'}, {recording.get('sample_rate_hz', 0):g} Hz, segmented by "
            f"{recording.get('segmentation', '')}; gravity {gravity}; torque cut-off: {cutoffs or 'no set'}"
        )
        for gap in recording.get("gaps", []):
            text += f"; gap after {gap['after_s']:.3f} s ({gap['samples_lost']} samples lost): movements across it left out"
        for key in ("excluded", "passive", "partial"):
            for item in recording.get(key, []) or []:
                text += f"; {key}: {item.get('reason', item) if isinstance(item, dict) else item}"
        items.append((name, text))
    for note in (document.get("pairing") or {}).get("not_paired_sets", []):  # retakes, gravity correction differing
        items.append(("Not paired", note))
    left_out = [
        f"trial {t['trial_id']} ({t['side']} {t['mode']} {t['velocity_plus_dps']:g} deg/s): {t['reason']}"
        for t in document.get("trials", [])
        if t.get("reason")
    ]
    return items, left_out


# -- the header ---------------------------------------------------------------------------------


def _header(document: dict[str, Any], extra: dict[str, str]) -> list[tuple[str, str]]:
    recordings = document.get("recordings", [])
    subject = document.get("subject") or {}
    session = document.get("session") or {}
    date = session.get("date", "")
    age = ""
    if subject.get("birth_year") and date:
        age = str(dt.date.fromisoformat(date).year - int(subject["birth_year"]))
    masses = {r.get("body_mass_kg") for r in recordings if r.get("body_mass_kg") is not None}
    mass = subject.get("body_mass_kg") or (next(iter(masses)) if len(masses) == 1 else None)
    joints = sorted({f"{r['joint']} {r['pattern']}" for r in recordings})
    velocities = sorted({round(float(s["velocity_dps"])) for r in recordings for s in r.get("sets", [])})
    corrected = [bool(r.get("gravity_corrected")) for r in recordings]
    gravity = "on" if corrected and all(corrected) else "off" if not any(corrected) else "on for some trials only"
    involved = document.get("parameters", {}).get("involved_side") or subject.get("involved_side")
    header = [
        ("Subject", subject.get("code") or extra.get("subject", DASH)),
        ("Sex", subject.get("sex") or DASH),
        ("Age (years)", age or DASH),
        ("Body mass (kg)", fmt(mass, 1)),
        ("Involved side", involved or "none marked"),
        ("Date", date or extra.get("date", DASH)),
        ("Joint", ", ".join(joints) or DASH),
        ("Protocol", extra.get("protocol") or DASH),
        ("Velocities (deg/s)", ", ".join(str(v) for v in velocities) or DASH),
        ("Gravity correction", gravity),
    ]
    return header


def report_view(
    document: dict[str, Any], *, extra: dict[str, str] | None = None, goals: list[dict[str, Any]] | None = None
) -> ReportView:
    """The report's contents from an analyze JSON document.

    Parameters
    ----------
    document
        A session report or ``isokin analyze --json`` document.
    extra
        Header values the document does not hold: ``protocol`` names, and ``subject`` / ``date``
        for reports made from files.
    goals
        The subject's re-test goals evaluated for this session (:func:`api.goals.evaluate`), if any.
    """
    verdict, from_flags = _verdict(document)
    processing, left_out = _processing(document)
    bands = _bands(document)
    return ReportView(
        header=_header(document, extra or {}),
        verdict=verdict,
        verdict_from_flags=from_flags,
        tables=_group_tables(document),
        ratios=_ratios(document),
        deficits=_deficits(document, bands),
        bands=bands,
        endurance=_endurance(document),
        flags=_flags(document),
        processing=processing,
        left_out=left_out,
        goals=goals or [],
    )


def value_at(document: dict[str, Any], path: str, derive: str = "") -> float | None:
    """The JSON value a printed cell shows (the inverse of the cells' ``path`` and ``derive``).

    ``path`` is a ``/``-separated path into the document; ``*`` in it means every item (for
    ``derive="mean"``, their mean); ``derive="deficit"`` takes ``reference|other`` paths.
    """

    def walk(node: Any, parts: list[str]) -> list[Any]:
        if not parts:
            return [node]
        head, rest = parts[0], parts[1:]
        if head == "*":
            return [v for item in node for v in walk(item, rest)]
        return walk(node[int(head)] if isinstance(node, list) else node[head], rest)

    if derive == "deficit":
        reference, other = (walk(document, p.split("/"))[0] for p in path.split("|"))
        return deficit(reference, other)
    values = walk(document, path.split("/"))
    if derive == "mean":
        return _mean(values)
    value = values[0]
    return None if value is None else float(value)
