"""Biodex System 4 raw-data text exports (``"biodex-txt"``).

Vendor layout
-------------
The layout of DOMAIN.md section 6 (not yet checked against a real export): a header
block of ``Key: value`` lines, then a column line and tab- or space-separated rows::

    Biodex System 4 - Raw Data
    Patient: B01
    Joint: Knee
    Side: Right
    Direction: Extension/Flexion
    Contraction: Con/Con
    Velocity: 60/60 deg/sec
    Repetitions: 1
    Weight: 75 kg
    Units: FT-LBS
    Anatomical Zero: 0 deg
    ROM Limits: 5/95 deg
    Set  Rep  mSec  TORQUE  POSITION  POS_ANAT  VELOCITY
    1    1    0     0.0     95.0      95.0      0.0

- ``Joint`` and ``Direction`` (``Pattern`` is accepted too) are required: they fix
  the signs. ``Units`` is ``N-M`` (the default) or ``FT-LBS``; ``Weight`` is in kg
  unless it says ``lb``. Other header lines are kept as ``biodex_<key>`` metadata.
- ``mSec`` is time in ms, ``TORQUE`` in the ``Units``, ``POSITION`` the dynamometer
  shaft angle, ``POS_ANAT`` the anatomical angle and ``VELOCITY`` deg/s.
- ``Rep`` numbers each movement in one direction (a half-repetition in our terms)
  within a ``Set``; 0 between repetitions.

Conversion to our conventions (DOMAIN.md section 2)
---------------------------------------------------
- Biodex signs torque and velocity positive toward the ``Direction`` header's
  first-named direction (its "away" direction). When that is our pattern's second
  direction (``Extension/Flexion`` for the knee, whose pattern is flexion/extension),
  both are negated.
- ``position_deg`` is ``POS_ANAT`` (anatomical zero kept, e.g. full knee extension),
  negated if needed so that it increases while the converted velocity is positive.
  The export does not state the angle's sense, so the velocity's sign (stated by the
  header's direction) orients it, and the two agree by construction.
- Torque x 1.35581795 for ``FT-LBS``; time in s from the first row.
- ``markers``: the half-repetition boundaries: the first sample of each numbered
  ``(Set, Rep)``, then the sample after the last numbered one (half-repetition *k* is
  ``markers[k]:markers[k + 1]``); ``extra["set"]``, ``extra["rep"]`` (int64) keep the numbers;
  ``extra["sequence"]`` is the sample index from the device's ``mSec`` clock.
"""

from __future__ import annotations

import numpy as np

from daq.errors import RecordingFormatError
from daq.importers._common import (
    FT_LB_TO_NM,
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

__all__ = ["parse_biodex", "sniff_biodex"]

_COLUMNS = ("set", "rep", "msec", "torque", "position", "pos_anat", "velocity")
_CONSUMED = {"joint", "direction", "pattern", "units", "torque units"}


def _is_column_line(line: str) -> bool:
    return set(_COLUMNS) <= set(line.lower().split())


def sniff_biodex(head: str) -> bool:
    """True when a line holds the ``Set Rep mSec TORQUE POSITION POS_ANAT VELOCITY`` columns."""
    return any(_is_column_line(line) for line in split_lines(head))


def parse_biodex(raw: bytes, *, name: str) -> Recording:
    """Convert a Biodex System 4 raw-data text export to a :class:`~daq.recording.Recording`.

    Parameters
    ----------
    raw
        The file's bytes.
    name
        The file name used in messages and as ``Recording.source``.

    Raises
    ------
    RecordingFormatError
        No column line, a missing ``Joint`` or ``Direction``, an unknown joint or
        direction, an unknown torque unit, a short row or a non-numeric value (with
        its line number).
    """
    lines = split_lines(decode_text(raw))
    start = next((i for i, line in enumerate(lines) if _is_column_line(line)), None)
    if start is None:
        raise RecordingFormatError(
            f"{name}: not a Biodex raw-data export (no 'Set Rep mSec TORQUE POSITION POS_ANAT VELOCITY' line)"
        )
    header = header_fields(lines[:start])
    joint_text, directions = header.get("joint"), header.get("direction") or header.get("pattern")
    if not joint_text or not directions:
        missing = "Joint" if not joint_text else "Direction"
        raise RecordingFormatError(f"{name}: missing {missing!r} in the Biodex header")
    joint, pattern, sign = resolve_pattern(joint_text, directions, name=name)
    units = (header.get("units") or header.get("torque units") or "N-M").lower().replace(" ", "")
    if units not in ("n-m", "nm", "n.m", "ft-lbs", "ft-lb", "ftlbs"):
        raise RecordingFormatError(f"{name}: unknown torque unit {units!r} (expected N-M or FT-LBS)")
    factor = FT_LB_TO_NM if units.startswith("ft") else 1.0

    labels = lines[start].lower().split()
    rows = [(i + 1, line) for i, line in enumerate(lines[start + 1 :], start=start + 1) if line.strip()]
    data = numeric_rows(rows, name=name, columns=len(labels))
    col = {label: data[:, labels.index(label)] for label in _COLUMNS}
    line_numbers = [n for n, _ in rows]
    time_s = (col["msec"] - col["msec"][0]) / 1000.0
    check_time(time_s, line_numbers, name=name)
    velocity_dps = sign * col["velocity"]
    set_no = whole_numbers(col["set"], line_numbers, what="Set", name=name)
    rep_no = whole_numbers(col["rep"], line_numbers, what="Rep", name=name)
    return Recording(
        time_s=time_s,
        torque_nm=sign * factor * col["torque"],
        position_deg=orient_position(col["pos_anat"].copy(), velocity_dps),
        velocity_dps=velocity_dps,
        metadata=_metadata(header, joint, pattern, sign, time_s),
        extra={"set": set_no, "rep": rep_no, "sequence": clock_index(time_s)},
        markers=run_bounds(np.where(rep_no > 0, set_no * 2**32 + rep_no, -1), ignore=-1),
        source=name,
    )


def _metadata(header: dict[str, str], joint: str, pattern: str, sign: int, time_s: np.ndarray) -> dict[str, str]:
    meta = {"source_format": "biodex-txt", "joint": joint, "pattern": pattern}
    rate = sample_rate_text(time_s)
    if rate:
        meta["sample_rate_hz"] = rate
    meta.update(header_metadata(header, sign=sign, prefix="biodex", consumed=_CONSUMED))
    return meta
