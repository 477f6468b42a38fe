"""Helpers shared by the vendor importers: text decoding, number parsing, conventions.

Every function here raises :class:`daq.errors.RecordingFormatError` with a message
that starts with the file name, so a vendor module never lets another exception
type escape for a bad file.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np

from daq.errors import RecordingFormatError
from daq.recording import decode_text as decode_text  # the one text rule, shared with the recording CSV
from firmware_protocols.vocabulary import JOINT_PATTERNS, PATTERN_DIRECTIONS

#: One foot-pound of torque in N.m.
FT_LB_TO_NM = 1.35581795

#: One pound of body mass in kg.
LB_TO_KG = 0.45359237

_DIRECTION_ALIASES = {
    "flex": "flexion",
    "ext": "extension",
    "er": "external rotation",
    "ext rot": "external rotation",
    "ir": "internal rotation",
    "int rot": "internal rotation",
    "abd": "abduction",
    "add": "adduction",
    "pf": "plantarflexion",
    "plantar flexion": "plantarflexion",
    "df": "dorsiflexion",
    "dorsi flexion": "dorsiflexion",
    "dorsal flexion": "dorsiflexion",
    "inv": "inversion",
    "ev": "eversion",
    "evr": "eversion",
}

_CON_WORDS = {"con", "conc", "concentric", "kon", "kons", "konz", "konzentrisch"}
_ECC_WORDS = {"ecc", "eccentric", "eks", "exz", "exzentrisch"}
_SPLIT = re.compile(r"[\s;,]+")
_SPLIT_KEEP_COMMA = re.compile(r"[\s;]+")


def split_lines(text: str) -> list[str]:
    """Lines of a text split at LF, CR LF or CR only (not at the other characters ``str.splitlines`` knows)."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def parse_float(text: str, *, name: str, line_no: int, what: str) -> float:
    """A number from a vendor file; a decimal comma is accepted.

    Raises
    ------
    RecordingFormatError
        ``"<name>: line <line_no>: non-numeric value '<text>' in <what>"``.
    """
    try:
        value = float(text.strip().replace(",", "."))
    except ValueError as err:
        raise RecordingFormatError(f"{name}: line {line_no}: non-numeric value {text.strip()!r} in {what}") from err
    if not math.isfinite(value):
        raise RecordingFormatError(f"{name}: line {line_no}: non-finite value {text.strip()!r} in {what}")
    return value


def numeric_rows(
    lines: Sequence[tuple[int, str]],
    *,
    name: str,
    columns: int,
    decimal_comma: bool = False,
) -> np.ndarray:
    """Parse ``(line number, text)`` rows of whitespace-, tab- or semicolon-separated numbers.

    Parameters
    ----------
    lines
        The data rows with their 1-based line numbers in the file (for messages).
    name
        The file name used in messages.
    columns
        Each row must hold at least this many values; the first ``columns`` are kept.
    decimal_comma
        When true a comma is a decimal separator (tabs, spaces or semicolons then
        separate the values); otherwise commas also separate values.

    Returns
    -------
    numpy.ndarray
        ``(len(lines), columns)`` float64 array.
    """
    splitter = _SPLIT_KEEP_COMMA if decimal_comma else _SPLIT
    rows: list[list[float]] = []
    for line_no, text in lines:
        fields = [f for f in splitter.split(text.strip()) if f]
        if len(fields) < columns:
            raise RecordingFormatError(f"{name}: line {line_no}: {len(fields)} values, expected {columns}")
        rows.append([parse_float(f, name=name, line_no=line_no, what="the data") for f in fields[:columns]])
    if not rows:
        raise RecordingFormatError(f"{name}: no samples")
    return np.array(rows, dtype=np.float64)


def header_fields(lines: Sequence[str]) -> dict[str, str]:
    """``key: value`` (or ``key = value``) header lines as ``lower-case key -> value``; other lines are skipped."""
    fields: dict[str, str] = {}
    for line in lines:
        match = re.match(r"\s*([^:=]+?)\s*[:=]\s*(.*?)\s*$", line)
        if match and match.group(1):
            fields[match.group(1).lower()] = match.group(2)
    return fields


def metadata_key(prefix: str, key: str) -> str:
    """A vendor header key as a metadata key: ``("biodex", "ROM Limits") -> "biodex_rom_limits"``."""
    return prefix + "_" + re.sub(r"[^a-z0-9]+", "_", key.lower()).strip("_")


def number_text(value: float) -> str:
    """A number as short text: ``67.0 -> "67"``, ``67.5 -> "67.5"``."""
    return f"{value:g}"


def mode_from_text(text: str) -> str | None:
    """``"con/con"``, ``"ecc/ecc"``, ``"con/ecc"`` or ``"ecc/con"`` from text such as
    ``"isokin. ballistinen kons/kons"`` or ``"Con/Ecc"``; ``None`` when none is found."""
    for first, second in re.findall(r"([A-Za-z]+)\.?\s*/\s*([A-Za-z]+)", text):
        words = [w.lower() for w in (first, second)]
        kinds = ["con" if w in _CON_WORDS else "ecc" if w in _ECC_WORDS else "" for w in words]
        if all(kinds):
            return "/".join(kinds)
    return None


def side_from_text(text: str) -> str | None:
    """``"left"`` or ``"right"`` when the text names exactly one of them."""
    words = set(re.findall(r"[a-z]+", text.lower()))
    found = {s for s in ("left", "right") if s in words}
    return found.pop() if len(found) == 1 else None


def direction_name(text: str) -> str | None:
    """A canonical direction name (``"flexion"``, ``"external rotation"``...) or ``None``."""
    word = " ".join(re.findall(r"[a-z]+", text.lower()))
    word = _DIRECTION_ALIASES.get(word, word)
    known = {d for pair in PATTERN_DIRECTIONS.values() for d in pair}
    return word if word in known else None


def resolve_pattern(joint_text: str, directions_text: str, *, name: str) -> tuple[str, str, int]:
    """Match a vendor's joint and ``"A/B"`` directions to one of our patterns.

    Returns
    -------
    tuple
        ``(joint, pattern, sign)`` where ``sign`` is +1 when the vendor's first-named
        direction is our pattern's first-named direction and -1 when it is the second:
        multiply a value the vendor signs positive toward its first-named direction by
        ``sign`` to get ours.

    Raises
    ------
    RecordingFormatError
        When the joint or the directions are not recognised.
    """
    joint = " ".join(re.findall(r"[a-z]+", joint_text.lower()))
    if joint not in JOINT_PATTERNS:
        raise RecordingFormatError(f"{name}: unknown joint {joint_text!r} (known: {', '.join(JOINT_PATTERNS)})")
    parts = directions_text.split("/")
    dirs = [direction_name(p) for p in parts]
    if len(parts) != 2 or None in dirs:
        raise RecordingFormatError(
            f"{name}: cannot read the directions {directions_text!r} (expected e.g. Extension/Flexion)"
        )
    for pattern in JOINT_PATTERNS[joint]:
        plus, minus = PATTERN_DIRECTIONS[pattern]
        if dirs == [plus, minus]:
            return joint, pattern, 1
        if dirs == [minus, plus]:
            return joint, pattern, -1
    raise RecordingFormatError(f"{name}: {directions_text!r} is not a {joint} pattern ({', '.join(JOINT_PATTERNS[joint])})")


def speed_text(plus_dps: float, minus_dps: float) -> str:
    """Set velocity as metadata text: one value, or ``"plus/minus"`` when the directions differ."""
    if plus_dps == minus_dps:
        return number_text(plus_dps)
    return f"{number_text(plus_dps)}/{number_text(minus_dps)}"


def orient_position(position_deg: np.ndarray, velocity_dps: np.ndarray) -> np.ndarray:
    """Return ``position_deg`` or its negative, whichever increases when ``velocity_dps`` is positive.

    Used when a vendor signs velocity by direction but exports an anatomical angle
    whose sense is not stated. A recording without movement is returned unchanged.
    """
    agreement = float(np.sum(np.diff(position_deg) * (velocity_dps[1:] + velocity_dps[:-1])))
    return -position_deg if agreement < 0 else position_deg


#: Metadata key prefix of a data-quality warning an importer found (``warning_<rule>: message``);
#: ``isokin analyze`` and the service report each as a warning flag named ``<rule>``.
WARNING_PREFIX = "warning_"


def motion_agreement(time_s: np.ndarray, position_deg: np.ndarray, velocity_dps: np.ndarray) -> float | None:
    """Correlation (-1..1) of the position's change over 50 ms with the velocity's integral over the same 50 ms.

    +1 when the velocity is d(position)/dt, -1 when its sign is reversed; ``None`` when the
    lever moves less than 2 deg in the whole recording (an isometric test). Over 50 ms the
    position's noise is small against its change, so the figure is near +-1 on real files.
    """
    t = np.asarray(time_s, dtype=np.float64)
    if len(t) < 3 or float(np.ptp(position_deg)) < 2.0:
        return None
    step = float(np.median(np.diff(t)))
    w = max(1, int(round(0.05 / step))) if step > 0 else 1
    if len(t) <= w:
        return None
    integral = np.concatenate([[0.0], np.cumsum(0.5 * (velocity_dps[1:] + velocity_dps[:-1]) * np.diff(t))])
    moved, integrated = position_deg[w:] - position_deg[:-w], integral[w:] - integral[:-w]
    norm = float(np.sqrt(np.dot(moved, moved) * np.dot(integrated, integrated)))
    return float(np.dot(moved, integrated)) / norm if norm > 0 else None


def velocity_from_motion(
    time_s: np.ndarray, position_deg: np.ndarray, velocity_dps: np.ndarray, *, column: str
) -> tuple[np.ndarray, dict[str, str]]:
    """The exported velocity, checked against the position's change: ``(velocity_dps, warning metadata)``.

    The direction of movement is the position's (DOMAIN.md section 2: velocity =
    d(position)/dt). When the exported ``column``'s sign contradicts it (some left-side HUMAC
    exports: correlation -0.99 over the file), the velocity is negated and
    ``warning_velocity_sign_contradicts_position`` says so; when it barely follows the
    position (correlation under 0.5), ``warning_velocity_disagrees_with_position`` says that.
    """
    agreement = motion_agreement(time_s, position_deg, velocity_dps)
    if agreement is None or agreement >= 0.5:
        return velocity_dps, {}
    if agreement < 0:
        return -velocity_dps, {
            WARNING_PREFIX + "velocity_sign_contradicts_position": (
                f"the exported {column} column's sign contradicts the change of position (correlation "
                f"{agreement:.2f} over the file): the direction of movement and the velocity's sign are taken "
                "from the position"
            )
        }
    return velocity_dps, {
        WARNING_PREFIX + "velocity_disagrees_with_position": (
            f"the exported {column} column barely follows the change of position (correlation {agreement:.2f}); "
            "check the export"
        )
    }


def whole_numbers(values: np.ndarray, line_numbers: Sequence[int], *, what: str, name: str) -> np.ndarray:
    """``values`` as int64, or an error naming the first line whose value is not a whole number."""
    bad = np.flatnonzero((values != np.round(values)) | (np.abs(values) >= 2**31))
    if bad.size:
        first = bad[0]
        raise RecordingFormatError(f"{name}: line {line_numbers[first]}: {what} {values[first]:g} is not whole")
    return values.astype(np.int64)


def check_time(time_s: np.ndarray, line_numbers: Sequence[int], *, name: str) -> None:
    """Raise unless ``time_s`` strictly increases; the message names the first offending line."""
    bad = np.flatnonzero(np.diff(time_s) <= 0)
    if bad.size:
        raise RecordingFormatError(f"{name}: line {line_numbers[bad[0] + 1]}: time does not increase")


def run_bounds(labels: np.ndarray, *, ignore: float) -> tuple[int, ...] | None:
    """Boundaries of the runs of equal labels, as :attr:`Recording.markers`.

    The first index of each run of a value other than ``ignore``, then the index just
    after the last such sample (``len(labels)`` when the last run reaches the end), so
    run *k* spans ``bounds[k]:bounds[k + 1]`` (a run followed by ``ignore`` samples
    extends over them to the next run). ``None`` when every label is ``ignore``.
    """
    labelled = np.flatnonzero(labels != ignore)
    if labelled.size == 0:
        return None
    change = np.ones(len(labels), dtype=bool)
    change[1:] = labels[1:] != labels[:-1]
    starts = np.flatnonzero(change & (labels != ignore))
    return tuple(int(i) for i in starts) + (int(labelled[-1]) + 1,)


def clock_index(time_s: np.ndarray) -> np.ndarray:
    """The device's sample index (int64) from its clock: ``round((t - t0) / median step)``.

    A vendor export's time column is the device's own clock, so its steps are exact
    multiples of the sample period and this index steps by 1 except where samples are
    missing. It becomes the recording's ``sequence`` column, from which the analysis finds
    gaps (:func:`analysis.segmentation.find_gaps`). All zeros for fewer than 2 samples.
    """
    t = np.asarray(time_s, dtype=np.float64)
    if len(t) < 2:
        return np.zeros(len(t), dtype=np.int64)
    step = float(np.median(np.diff(t)))
    if not step > 0:
        return np.arange(len(t), dtype=np.int64)
    index: np.ndarray = np.round((t - t[0]) / step).astype(np.int64)
    return index


def sample_rate_text(time_s: np.ndarray) -> str | None:
    """The nominal sample rate (Hz) from the median time step, as text; ``None`` for fewer than 2 samples."""
    if len(time_s) < 2:
        return None
    step = float(np.median(np.diff(time_s)))
    return number_text(round(1.0 / step, 3)) if step > 0 else None


_HEADER_ALIASES = {
    "side": ("side",),
    "mode": ("contraction", "mode"),
    "velocity": ("velocity", "speed"),
    "repetitions": ("repetitions", "reps"),
    "weight": ("weight", "body weight", "body mass"),
    "subject": ("patient id", "patient", "subject", "name"),
}


def _first(header: dict[str, str], keys: tuple[str, ...]) -> str:
    return next((header[k] for k in keys if header.get(k)), "")


def mass_kg_text(text: str) -> str | None:
    """Body mass as kg text from ``"75 kg"``, ``"75,5"`` or ``"165 lbs"``; ``None`` when no number."""
    match = re.match(r"\s*([0-9]+(?:[.,][0-9]+)?)\s*([a-z]*)", text.lower())
    if not match:
        return None
    value = float(match.group(1).replace(",", "."))
    return number_text(round(value * LB_TO_KG, 2) if match.group(2).startswith("lb") else value)


def header_metadata(header: dict[str, str], *, sign: int, prefix: str, consumed: set[str]) -> dict[str, str]:
    """Our metadata keys from a ``key: value`` vendor header (see :func:`header_fields`).

    Reads side, mode, velocity (one value or two in the vendor's direction order,
    reordered to our plus/minus with ``sign``), repetitions, body mass and subject;
    every other non-empty key not in ``consumed`` is kept as ``<prefix>_<key>``.
    """
    meta: dict[str, str] = {}
    side = side_from_text(_first(header, _HEADER_ALIASES["side"]))
    if side:
        meta["side"] = side
    mode = mode_from_text(_first(header, _HEADER_ALIASES["mode"]))
    if mode:
        meta["mode"] = mode
    speeds = [float(v) for v in re.findall(r"[0-9]+(?:\.[0-9]+)?", _first(header, _HEADER_ALIASES["velocity"]))[:2]]
    if len(speeds) == 1:
        meta["velocity_dps"] = number_text(speeds[0])
    elif len(speeds) == 2:
        meta["velocity_dps"] = speed_text(*(speeds if sign > 0 else speeds[::-1]))
    reps = re.findall(r"\d+", _first(header, _HEADER_ALIASES["repetitions"]))
    if reps:
        meta["repetitions"] = reps[0]
    mass = mass_kg_text(_first(header, _HEADER_ALIASES["weight"]))
    if mass:
        meta["body_mass_kg"] = mass
    subject = _first(header, _HEADER_ALIASES["subject"])
    if subject:
        meta["subject"] = subject
    used = consumed.union(*_HEADER_ALIASES.values())
    meta.update({metadata_key(prefix, k): v for k, v in header.items() if k not in used and v})
    return meta
