"""HUMAC / Cybex NORM CSV exports (``"humac-csv"``).

Vendor layout
-------------
Comma-separated, every field quoted or bare, one header line, 100 Hz. Two variants:

- 16 columns, torque in foot-pounds::

    "Status","Time(Seconds)","Position(Degrees)","Torque(Foot-Pounds)","Speed(d/s)","End Pnt 0","Pos Start",...
    "1",.13,103.125,6.9064,1.4375,"0","","",...

  ``End Pnt 0`` numbers the half-repetitions (0, 1, 2...; empty before the first);
  the other event columns (``Pos Start``, ``Peak Trq Start``...) are not imported.
- 5 columns, torque in N.m: ``"Status","Time(Seconds)","Position(Degrees)","Torque(Newton-Meters)","Speed(deg/sec)"``.

``Status`` is a bit field written in hexadecimal (``"0005"``, ``"0011"``, ``"15"``):
bit 0 active, bit 2 deceleration at the end of the range (torque often exported as
0), bit 3 direction change, bit 4 end of the set (the last data row). The exports
end with one all-zero row of status 0, which is dropped.

File names carry metadata: ``<subject> <HH_MM_SS AM> <velocity or isometric angle> <reps> <Side> <set>.csv``,
e.g. ``S01 10_59_09 AM 60 5 Right 1.csv``.

Conversion to our conventions (DOMAIN.md section 2)
---------------------------------------------------
- Time in s from the first row; position in degrees as exported (for the knee,
  degrees of flexion: 0 = full extension, increasing toward flexion, as ours);
  speed as exported (signed, d(position)/dt, as ours) once checked against the change of
  position: in some left-side exports its sign is reversed (correlation -0.99 over the
  file); it is then negated and ``warning_velocity_sign_contradicts_position`` says so
  (:func:`~daq.importers._common.velocity_from_motion`). The direction of movement is
  always the position's.
- Torque is exported **unsigned**. Torque (x 1.35581795 for foot-pounds) gets the
  sign of the movement of its half-repetition, i.e. every effort is taken as
  concentric: the con/con assumption, and ``metadata["mode"]`` is ``"con/con"``.
  With ``End Pnt 0`` the direction of a half-repetition is the sign of its net
  displacement, and samples before the first marker take the first half-repetition's
  direction; without it, the direction is the sign of the (checked) speed wherever
  ``|speed|`` exceeds 10 % of its maximum, carried over the slower samples in between.
  An eccentric HUMAC set would come out with the wrong torque sign: the export does
  not say which group acted. An isometric recording (``|speed|`` below 5 deg/s
  throughout) keeps its unsigned torque (``torque_sign: unsigned``: the analysis then
  reports its muscle group as unknown) and gets ``mode`` ``isometric``.
- ``markers``: the half-repetition boundaries: the first sample of each ``End Pnt 0``
  half-repetition (where the number changes), then ``len(recording)`` since the last
  one runs to the end of the export. Half-repetition *k* is ``markers[k]:markers[k + 1]``,
  so 5 repetitions (10 half-repetitions) give 11 markers. ``None`` for the five-column
  variant.
- ``extra["status"]``: the status bits (int64); ``extra["sequence"]``: the device's sample
  index from its clock (the ``Time`` column, :func:`~daq.importers._common.clock_index`), from
  which the analysis finds lost samples.
- Metadata: ``subject``, ``side``, ``repetitions``, ``humac_set``, ``humac_time``
  from the file name; ``velocity_dps`` is the name's velocity: the test's. When the
  recorded speeds disagree with it by more than 10 %, ``humac_measured_velocity_dps`` gives
  the measured speed of each direction (``"plus/minus"``, 95th percentile rounded to 5 deg/s):
  an extension-only test whose machine returns the limb at 180 deg/s reads ``"180/60"``, and
  the analysis lists that return as passive; for an isometric recording
  ``velocity_dps`` is ``"0"`` and the name's number is ``humac_isometric_angle_deg``.
  The export does not name the joint, so ``joint`` and ``pattern`` are not set.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import PurePath

import numpy as np

from daq.errors import RecordingFormatError
from daq.importers._common import (
    FT_LB_TO_NM,
    check_time,
    clock_index,
    decode_text,
    number_text,
    parse_float,
    run_bounds,
    sample_rate_text,
    velocity_from_motion,
)
from daq.recording import Recording

__all__ = ["parse_humac", "sniff_humac"]

_ISOMETRIC_MAX_DPS = 5.0
_NAME = re.compile(
    r"^(?P<subject>.+?) (?P<time>\d{1,2}_\d{2}_\d{2}(?: [AP]M)?) (?P<value>\d+(?:\.\d+)?) "
    r"(?P<reps>\d+) (?P<side>left|right) (?P<set>\d+)$",
    re.IGNORECASE,
)
_TORQUE_UNITS = {
    "foot-pounds": FT_LB_TO_NM, "ft-lb": FT_LB_TO_NM, "ft-lbs": FT_LB_TO_NM,
    "newton-meters": 1.0, "n.m": 1.0, "nm": 1.0,
}  # fmt: skip
#: column -> (label prefixes accepted, label shown in messages)
_WANTED = {
    "status": (("status",), "Status"),
    "time": (("time",), "Time(Seconds)"),
    "position": (("position",), "Position(Degrees)"),
    "torque": (("torque",), "Torque(...)"),
    "speed": (("speed", "velocity"), "Speed(d/s)"),
}


def sniff_humac(head: str) -> bool:
    """True when the first line is a HUMAC CSV header."""
    first = head.lstrip("\ufeff").split("\n", 1)[0].lower()
    return "status" in first and "time(seconds)" in first and "torque(" in first


def _columns(header: list[str], name: str) -> dict[str, int]:
    labels = [h.strip().lower() for h in header]
    found: dict[str, int] = {}
    for key, (prefixes, shown) in _WANTED.items():
        index = next((i for i, h in enumerate(labels) if h.startswith(prefixes)), None)
        if index is None:
            raise RecordingFormatError(f"{name}: missing column {shown!r} in the HUMAC header")
        found[key] = index
    if "end pnt 0" in labels:
        found["end_pnt"] = labels.index("end pnt 0")
    return found


def _integer(text: str, base: int, column: str, line_no: int, name: str) -> int:
    try:
        return int(text.strip(), base)
    except ValueError as err:
        raise RecordingFormatError(
            f"{name}: line {line_no}: non-numeric value {text.strip()!r} in column {column.strip()!r}"
        ) from err


def _torque_factor(label: str, name: str) -> float:
    unit = label.strip().lower().partition("(")[2].rstrip(")").strip()
    if unit not in _TORQUE_UNITS:
        raise RecordingFormatError(f"{name}: unknown torque unit {unit!r} in column {label.strip()!r}")
    return _TORQUE_UNITS[unit]


def _directions(speed: np.ndarray, position: np.ndarray, markers: tuple[int, ...]) -> np.ndarray:
    """+1/-1 per sample: the direction of movement of the half-repetition each sample belongs to."""
    direction = np.zeros(len(speed))
    if markers:
        for start, stop in zip(markers[:-1], markers[1:]):
            direction[start:stop] = np.sign(position[stop - 1] - position[start])
    else:
        fast = np.abs(speed) > 0.1 * np.max(np.abs(speed))
        direction[fast] = np.sign(speed[fast])
    known = np.flatnonzero(direction)
    if known.size == 0:
        return np.ones(len(speed))
    # carry each known direction forward over unknown samples, and the first one backward
    filled = direction[known[np.maximum(np.searchsorted(known, np.arange(len(speed)), side="right") - 1, 0)]]
    return filled


def _nominal_speed(speed: np.ndarray) -> float | None:
    """The top speed (95th percentile, deg/s, rounded to 5) of one direction's samples; ``None`` if none."""
    if speed.size == 0:
        return None
    return 5.0 * round(float(np.percentile(speed, 95)) / 5.0)


def _read_rows(text: str, name: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as err:
        raise RecordingFormatError(f"{name}: not a readable CSV file: {err}") from err
    if not rows:
        raise RecordingFormatError(f"{name}: empty HUMAC export")
    body = [(i + 2, row) for i, row in enumerate(rows[1:]) if any(f.strip() for f in row)]
    return rows[0], body


def parse_humac(raw: bytes, *, name: str) -> Recording:
    """Convert a HUMAC NORM CSV export to a :class:`~daq.recording.Recording`.

    Parameters
    ----------
    raw
        The file's bytes.
    name
        The file's path, used in messages and as ``Recording.source``; its last
        component is parsed for metadata when it follows the HUMAC pattern.

    Raises
    ------
    RecordingFormatError
        Not a HUMAC header, a missing column, a short row, a non-numeric value (with
        its line number), an unknown torque unit, or no samples.
    """
    text = decode_text(raw)
    if not sniff_humac(text):
        raise RecordingFormatError(f"{name}: not a HUMAC CSV export (no \"Status\",\"Time(Seconds)\",... header)")
    header, body = _read_rows(text, name)
    cols = _columns(header, name)
    factor = _torque_factor(header[cols["torque"]], name)
    width = max(cols.values()) + 1
    values = np.empty((len(body), 4))
    status = np.empty(len(body), dtype=np.int64)
    end_pnt = np.full(len(body), -1, dtype=np.int64)
    for k, (line_no, row) in enumerate(body):
        if len(row) < width:
            raise RecordingFormatError(f"{name}: line {line_no}: {len(row)} fields, expected {len(header)}")
        status[k] = _integer(row[cols["status"]], 16, header[cols["status"]], line_no, name)
        values[k] = [
            parse_float(row[cols[c]], name=name, line_no=line_no, what=f"column {header[cols[c]].strip()!r}")
            for c in ("time", "position", "torque", "speed")
        ]
        if "end_pnt" in cols and row[cols["end_pnt"]].strip():
            end_pnt[k] = _integer(row[cols["end_pnt"]], 10, "End Pnt 0", line_no, name)
    line_numbers = [n for n, _ in body]
    while len(status) and status[-1] == 0 and not values[-1, 1:].any():
        status, values, end_pnt, line_numbers = status[:-1], values[:-1], end_pnt[:-1], line_numbers[:-1]
    if len(status) == 0:
        raise RecordingFormatError(f"{name}: no samples after the header")

    time_s = values[:, 0] - values[0, 0]
    check_time(time_s, line_numbers, name=name)
    position_deg, torque_raw = values[:, 1], values[:, 2]
    speed_dps, warnings = velocity_from_motion(time_s, position_deg, values[:, 3], column="Speed")
    markers = run_bounds(end_pnt, ignore=-1) if "end_pnt" in cols else None
    isometric = float(np.max(np.abs(speed_dps))) < _ISOMETRIC_MAX_DPS
    metadata = {"source_format": "humac-csv", **warnings}
    if isometric:
        torque_nm = torque_raw * factor
        metadata["humac_torque_sign"] = "unsigned as exported (isometric: the direction is not exported)"
        metadata["torque_sign"] = "unsigned"
        metadata["mode"] = "isometric"
    else:
        torque_nm = torque_raw * factor * _directions(speed_dps, position_deg, markers or ())
        metadata["mode"] = "con/con"
        metadata["humac_torque_sign"] = (
            "unsigned in the export; signed toward each half-repetition's movement (concentric assumed)"
        )
    rate = sample_rate_text(time_s)
    if rate:
        metadata["sample_rate_hz"] = rate
    metadata.update(_name_metadata(PurePath(name).name, speed_dps, isometric))
    return Recording(
        time_s=time_s,
        torque_nm=torque_nm,
        position_deg=position_deg.copy(),
        velocity_dps=speed_dps.copy(),
        metadata=metadata,
        extra={"status": status, "sequence": clock_index(time_s)},
        markers=markers,
        source=name,
    )


def _name_metadata(filename: str, speed_dps: np.ndarray, isometric: bool) -> dict[str, str]:
    stem = filename[:-4] if filename.lower().endswith(".csv") else filename
    match = _NAME.match(stem.strip())
    meta: dict[str, str] = {}
    if match is None:
        return meta
    value = float(match["value"])
    meta.update(
        subject=match["subject"],
        side=match["side"].lower(),
        repetitions=match["reps"],
        humac_set=match["set"],
        humac_time=match["time"].replace("_", ":"),
    )
    if isometric:
        meta["velocity_dps"] = "0"
        meta["humac_isometric_angle_deg"] = number_text(value)
        return meta
    plus = _nominal_speed(speed_dps[speed_dps > 0])
    minus = _nominal_speed(-speed_dps[speed_dps < 0])
    measured = [s for s in (plus, minus) if s is not None]
    meta["velocity_dps"] = number_text(value)
    if not all(abs(s - value) <= 0.1 * value for s in measured):
        meta["humac_measured_velocity_dps"] = "/".join(number_text(s if s is not None else 0.0) for s in (plus, minus))
    return meta
