"""IsoMed 2000 text exports (``"isomed-txt"``).

Vendor layout
-------------
The layout of DOMAIN.md section 6 (not yet checked against a real export): 200 Hz
rows of integers separated by tabs, spaces or semicolons, after an optional header
block of ``Key: value`` lines that names the device::

    IsoMed 2000
    Name: M01
    Joint: Knee
    Side: Left
    Movement: Extension/Flexion
    Mode: con/con
    Velocity: 180/180
    Weight: 80 kg
    0;-900;0;0;0;0
    5;-899;12;18;0;1

Columns: 1 time in ms, 2 position in 0.1 deg, 3 torque in 0.1 N.m, 4 velocity in
0.1 deg/s, 5 not imported, 6 phase marker (0 at rest, a new non-zero value for each
movement). Detection needs the word "IsoMed" in the header; pass
``format="isomed-txt"`` for a file without it.

Conversion to our conventions (DOMAIN.md section 2)
---------------------------------------------------
- Scaling: ms / 1000 -> s (from the first row), position / 10 -> deg, torque / 10 ->
  N.m, velocity / 10 -> deg/s.
- Torque and velocity are taken as signed positive toward the ``Movement`` (or
  ``Direction``) header's first-named direction, and negated when that is our
  pattern's second direction. Without ``Joint`` and ``Movement`` the signs are kept
  as exported and ``joint``/``pattern`` are not set.
- Position keeps its zero and is negated if needed so that it increases while the
  converted velocity is positive.
  The export does not state the angle's sense, so the velocity's sign (stated by the
  header's direction) orients it, and the two agree by construction.
- ``markers``: the half-repetition boundaries: the first sample of each run of a
  non-zero phase value, then the sample after the last non-zero one (half-repetition
  *k* is ``markers[k]:markers[k + 1]``); ``extra["phase"]`` (int64) keeps the column;
  ``extra["sequence"]`` is the sample index from the device's ms clock.
"""

from __future__ import annotations

from daq.errors import RecordingFormatError
from daq.importers._common import (
    check_time,
    clock_index,
    decode_text,
    header_fields,
    header_metadata,
    numeric_rows,
    orient_position,
    resolve_pattern,
    run_bounds,
    sample_rate_text,
    split_lines,
    whole_numbers,
)
from daq.recording import Recording

__all__ = ["parse_isomed", "sniff_isomed"]

_COLUMNS = 6
_CONSUMED = {"joint", "movement", "direction"}


def sniff_isomed(head: str) -> bool:
    """True when the first lines mention IsoMed."""
    return any("isomed" in line.lower() for line in split_lines(head)[:20])


def _first_data_line(lines: list[str]) -> int | None:
    for index, line in enumerate(lines):
        fields = line.replace(";", " ").split()
        if len(fields) >= _COLUMNS and all(f.lstrip("+-").isdigit() for f in fields):
            return index
    return None


def parse_isomed(raw: bytes, *, name: str) -> Recording:
    """Convert an IsoMed 2000 text export to a :class:`~daq.recording.Recording`.

    Parameters
    ----------
    raw
        The file's bytes.
    name
        The file name used in messages and as ``Recording.source``.

    Raises
    ------
    RecordingFormatError
        No integer rows of six columns, an unknown joint or movement, a short row or
        a non-numeric value (with its line number).
    """
    lines = split_lines(decode_text(raw))
    start = _first_data_line(lines)
    if start is None:
        raise RecordingFormatError(f"{name}: not an IsoMed 2000 export (no rows of {_COLUMNS} integer columns)")
    header = header_fields(lines[:start])
    directions = header.get("movement") or header.get("direction")
    meta = {"source_format": "isomed-txt"}
    sign = 1
    if header.get("joint") and directions:
        joint, pattern, sign = resolve_pattern(header["joint"], directions, name=name)
        meta.update(joint=joint, pattern=pattern)
    else:
        meta["isomed_signs"] = "as exported (no Joint and Movement in the header)"

    rows = [(i + 1, line) for i, line in enumerate(lines[start:], start=start) if line.strip()]
    data = numeric_rows(rows, name=name, columns=_COLUMNS)
    time_s = (data[:, 0] - data[0, 0]) / 1000.0
    check_time(time_s, [n for n, _ in rows], name=name)
    velocity_dps = sign * data[:, 3] / 10.0
    phase = whole_numbers(data[:, 5], [n for n, _ in rows], what="phase", name=name)
    rate = sample_rate_text(time_s)
    if rate:
        meta["sample_rate_hz"] = rate
    meta.update(header_metadata(header, sign=sign, prefix="isomed", consumed=_CONSUMED))
    return Recording(
        time_s=time_s,
        torque_nm=sign * data[:, 2] / 10.0,
        position_deg=orient_position(data[:, 1] / 10.0, velocity_dps),
        velocity_dps=velocity_dps,
        metadata=meta,
        extra={"phase": phase, "sequence": clock_index(time_s)},
        markers=run_bounds(phase, ignore=0),
        source=name,
    )
