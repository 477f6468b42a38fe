"""Con-Trex MJ ``.CTM`` exports (``"contrex-ctm"``).

Vendor layout
-------------
Latin-1 text, CR LF line ends, INI-like sections, tab-separated ``key<TAB>value...``
lines, decimal commas in header values::

    [Measurement]
    samplingrate    256     Hz
    samples         5130
    [session]
    subject weight  67
    [Configuration]
    pattern 210     polven oj/kouk 500 Nm
    side    0       right
    program 63      isokin. ballistinen kons/kons
    speed   60      60
    gravity 0       off
    termination val 3
    [filter]
    filter  1       11      single pole IIR low pass
    [markers by index]
    move 1  1459    2288    3139    3967
    move 2  1869    2705    3553
    [data]
    17.913  14.841  -60.331          torque (N.m), velocity (deg/s), angle (deg)
    ...
    0.000   0.000   0.000            a closing all-zero row

``samples`` rows precede the closing row. ``move 1`` and ``move 2`` are the sample
indices where a movement toward ``mov1`` (resp. ``mov2``) starts, i.e. the direction
reversals; the last ``move`` marker ends the last repetition, and the samples after
it are the device's return to its rest position. A repetition is one movement each
way, so a set of *n* repetitions has ``2 n + 1`` move markers.

Conversion to our conventions (DOMAIN.md section 2)
---------------------------------------------------
The device's signs depend on the pattern; only the knee's (pattern 210) is known
from real exports: extension torque +, velocity + while extending, angle about 0 near
full extension and negative in flexion. So for the knee torque, velocity and angle
are all negated (flexion +, 0 = full extension). Other pattern codes are rejected
rather than guessed. The velocity is checked against the change of the angle
(:func:`~daq.importers._common.velocity_from_motion`: negated, with a warning, when its
sign contradicts it). No unit conversion (N.m, deg/s, deg); time is ``index / rate``, and
``extra["sequence"]`` is that row index (the file holds every sample the header promises).

- ``markers``: every ``move 1``/``move 2`` index, sorted: the half-repetition
  boundaries. Half-repetition *k* is ``markers[k]:markers[k + 1]``; what precedes the
  first marker and follows the last is the device's positioning, not a repetition.
- Metadata: ``joint``, ``pattern``, ``side``, ``mode`` (from ``program``, Finnish,
  German or English words), ``velocity_dps`` (``speed``: one value, or plus/minus),
  ``repetitions`` (``termination val`` when termination is by repetition),
  ``sample_rate_hz``, ``body_mass_kg``, ``subject``, ``started_at``, ``device``; vendor
  extras ``contrex_pattern``, ``contrex_program``, ``contrex_filter`` (the device's own
  low-pass, already applied to the data), ``contrex_gravity``, ``contrex_involved_side``,
  ``contrex_name``.
- A file with fewer data rows than ``samples`` is rejected: ``header promises 4923
  samples, file holds 160``.
"""

from __future__ import annotations

import re

import numpy as np

from daq.errors import RecordingFormatError
from daq.importers._common import (
    mode_from_text,
    number_text,
    numeric_rows,
    side_from_text,
    speed_text,
    split_lines,
    velocity_from_motion,
)
from daq.recording import Recording

__all__ = ["parse_contrex", "sniff_contrex"]

#: Con-Trex pattern code -> (joint, our pattern, sign applied to torque, velocity and angle).
#: Only the knee is known from real exports; mov2 (flexion) is then our + direction.
_PATTERNS: dict[int, tuple[str, str, int]] = {210: ("knee", "flexion/extension", -1)}

Sections = dict[str, dict[str, list[str]]]


def sniff_contrex(head: str) -> bool:
    """True when the text starts with a ``[Measurement]`` section."""
    return head.lstrip("\ufeff").lstrip().startswith("[Measurement]")


def _split_sections(lines: list[str], name: str) -> tuple[Sections, list[tuple[int, str]]]:
    sections: Sections = {}
    current: dict[str, list[str]] | None = None
    for index, line in enumerate(lines):
        stripped = line.strip()
        if stripped == "[data]":
            data = [(index + 1 + k + 1, row) for k, row in enumerate(lines[index + 1 :]) if row.strip()]
            return sections, data
        if stripped.startswith("[") and stripped.endswith("]"):
            current = sections.setdefault(stripped[1:-1].lower(), {})
        elif current is not None and stripped:
            key, _, rest = line.partition("\t")
            current[key.strip().lower()] = [v.strip() for v in rest.split("\t") if v.strip()]
    raise RecordingFormatError(f"{name}: Con-Trex export without a [data] section")


def _value(sections: Sections, section: str, key: str, name: str) -> list[str]:
    values = sections.get(section, {}).get(key)
    if not values:
        raise RecordingFormatError(f"{name}: missing {key!r} in the [{section}] section")
    return values


def _number(text: str, what: str, name: str) -> float:
    try:
        value = float(text.replace(",", "."))
    except ValueError as err:
        raise RecordingFormatError(f"{name}: {what} {text!r} is not a number") from err
    if not np.isfinite(value):
        raise RecordingFormatError(f"{name}: {what} {text!r} is not a finite number")
    return value


def _integer(text: str, what: str, name: str) -> int:
    if not re.fullmatch(r"\d+", text):
        raise RecordingFormatError(f"{name}: {what} {text!r} is not a whole number")
    return int(text)


def parse_contrex(raw: bytes, *, name: str) -> Recording:
    """Convert a Con-Trex ``.CTM`` export to a :class:`~daq.recording.Recording`.

    Parameters
    ----------
    raw
        The file's bytes (Latin-1 text).
    name
        The file name used in messages and as ``Recording.source``.

    Raises
    ------
    RecordingFormatError
        Not a CTM file, a missing section or key, an unknown pattern code, a
        non-numeric value (with its line number), a marker beyond the data, or a
        sample count that differs from the header's (a truncated file).
    """
    text = raw.decode("latin-1")
    if not sniff_contrex(text):
        raise RecordingFormatError(f"{name}: not a Con-Trex CTM export (no [Measurement] section at the top)")
    sections, rows = _split_sections(split_lines(text), name)
    rate_hz = _number(_value(sections, "measurement", "samplingrate", name)[0], "samplingrate", name)
    if rate_hz <= 0:
        raise RecordingFormatError(f"{name}: samplingrate {number_text(rate_hz)} Hz is not positive")
    expected = _integer(_value(sections, "measurement", "samples", name)[0], "samples", name)
    pattern_field = _value(sections, "configuration", "pattern", name)
    code = _integer(pattern_field[0], "pattern code", name)
    if code not in _PATTERNS:
        known = ", ".join(f"{c} ({j} {p})" for c, (j, p, _) in _PATTERNS.items())
        raise RecordingFormatError(
            f"{name}: Con-Trex pattern {code} ({' '.join(pattern_field[1:])}) has no known sign convention;"
            f" known: {known}"
        )
    joint, pattern, sign = _PATTERNS[code]

    if len(rows) not in (expected, expected + 1):
        raise RecordingFormatError(f"{name}: header promises {expected} samples, file holds {len(rows)}")
    data = numeric_rows(rows, name=name, columns=3, decimal_comma=True)
    if len(data) == expected + 1:
        if data[-1].any():
            raise RecordingFormatError(f"{name}: header promises {expected} samples, file holds {len(rows)}")
        data = data[:-1]
    if len(data) == 0:
        raise RecordingFormatError(f"{name}: no samples in the [data] section")

    markers_section = sections.get("markers by index", {})
    markers = sorted(
        {_integer(v, "marker", name) for key in ("move 1", "move 2") for v in markers_section.get(key, [])}
    )
    if markers and markers[-1] >= len(data):
        raise RecordingFormatError(f"{name}: marker {markers[-1]} is beyond the {len(data)} samples")

    time_s, position_deg = np.arange(len(data)) / rate_hz, sign * data[:, 2]
    velocity_dps, warnings = velocity_from_motion(time_s, position_deg, sign * data[:, 1], column="velocity")
    return Recording(
        time_s=time_s,
        torque_nm=sign * data[:, 0],
        position_deg=position_deg,
        velocity_dps=velocity_dps,
        metadata=_metadata(sections, joint, pattern, sign, rate_hz, name) | warnings,
        markers=tuple(markers) if markers else None,
        extra={"sequence": np.arange(len(data), dtype=np.int64)},
        source=name,
    )


def _metadata(sections: Sections, joint: str, pattern: str, sign: int, rate_hz: float, name: str) -> dict[str, str]:
    measurement = sections.get("measurement", {})
    session = sections.get("session", {})
    config = sections.get("configuration", {})
    meta = {
        "source_format": "contrex-ctm",
        "joint": joint,
        "pattern": pattern,
        "sample_rate_hz": number_text(rate_hz),
        "contrex_pattern": " ".join(config["pattern"]),
    }
    side = side_from_text(" ".join(config.get("side", [])))
    if side:
        meta["side"] = side
    program = " ".join(config.get("program", []))
    if program:
        meta["contrex_program"] = program
        mode = mode_from_text(program)
        if mode:
            meta["mode"] = mode
    speeds = [_number(v, "speed", name) for v in config.get("speed", [])]
    if len(speeds) == 2:
        mov1, mov2 = speeds
        meta["velocity_dps"] = speed_text(mov2, mov1) if sign < 0 else speed_text(mov1, mov2)
    if config.get("termination type", [""])[-1].lower() == "repetition" and config.get("termination val"):
        meta["repetitions"] = config["termination val"][0]
    weight = session.get("subject weight")
    if weight:
        meta["body_mass_kg"] = number_text(_number(weight[0], "subject weight", name))
    subject = " ".join(session.get("subject id", [])) or " ".join(
        session.get("subject name first", []) + session.get("subject name", [])
    )
    if subject:
        meta["subject"] = subject
    date, clock = measurement.get("date (dd/mm/yyyy)"), measurement.get("time (hh/mm/ss)")
    if date and clock:
        d, c = re.findall(r"\d+", date[0]), re.findall(r"\d+", clock[0])
        if len(d) == 3 and len(c) == 3:
            meta["started_at"] = f"{d[2]}-{d[1]:0>2}-{d[0]:0>2}T{c[0]:0>2}:{c[1]:0>2}:{c[2]:0>2}"
    device = " ".join(measurement.get("system name", []) + measurement.get("software", []))
    if device:
        meta["device"] = device
    filt = sections.get("filter", {}).get("filter", [])
    if filt:
        meta["contrex_filter"] = " ".join([f"{filt[1]} Hz", *filt[2:]]) if filt[0] == "1" and len(filt) > 1 else "off"
    extras = {
        "contrex_gravity": config.get("gravity", [])[-1:],
        "contrex_involved_side": session.get("involved side"),
        "contrex_name": measurement.get("name"),
    }
    meta.update({key: " ".join(value) for key, value in extras.items() if value})
    return meta
