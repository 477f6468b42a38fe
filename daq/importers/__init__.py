"""Importers: recordings from our own CSV and from vendor exports, in our conventions.

>>> from daq.importers import load_recording  # doctest: +SKIP
>>> rec = load_recording("S01 10_59_09 AM 60 5 Right 1.csv")  # doctest: +SKIP
>>> rec.metadata["source_format"], rec.markers  # doctest: +SKIP
('humac-csv', (13, 242, 416, 582, 750, 926, 1103, 1290, 1472, 1657, 1832))

:data:`FORMATS` is the table of formats by name; each vendor module has a ``sniff_*``
function (does this text look like mine?) and a ``parse_*`` function (bytes ->
:class:`~daq.recording.Recording`), imported only when needed. :func:`detect_format`
tries the sniffers on the file's first 64 KiB, in table order, whatever the file
extension. Every returned recording follows DOMAIN.md section 2 (position increasing
toward the pattern's first-named direction, velocity = d(position)/dt, torque
positive toward increasing position, N.m, s from 0) and has ``metadata["source_format"]``.

``markers`` are the boundaries of the half-repetitions (one movement in one direction)
the device itself delimited, as sample indices: half-repetition *k* is
``markers[k]:markers[k + 1]``, so there are ``len(markers) - 1`` of them and the last
marker may equal ``len(recording)``. Samples before the first and after the last
marker are not part of the set. ``None`` when the export has no such marks. Each
vendor module's docstring gives its details and assumptions.

Data-quality findings of an importer (a velocity whose sign contradicts the position's
change, corrected) are metadata keys ``warning_<rule>`` (:data:`WARNING_PREFIX`); :func:`warnings_of`
lists them, and ``isokin analyze`` and the service report each as a warning.

Every problem with a file (unreadable, empty, binary, unknown format, truncated,
missing column, non-numeric value) raises :class:`daq.errors.RecordingFormatError`
with one line naming the file; an unknown ``format`` argument raises ``ValueError``.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from daq.errors import RecordingFormatError
from daq.importers._common import WARNING_PREFIX, decode_text
from daq.recording import Recording, read_recording

__all__ = ["FORMATS", "WARNING_PREFIX", "ImportFormat", "detect_format", "load_recording", "warnings_of"]

_SNIFF_BYTES = 65536


@dataclass(frozen=True)
class ImportFormat:
    """One importable format.

    Attributes
    ----------
    name
        The format's name (the ``format`` argument of :func:`load_recording`).
    description
        One line for help texts.
    module
        The module holding the sniffer and the parser.
    sniff, parse
        Function names in ``module``: ``sniff(head: str) -> bool`` and
        ``parse(raw: bytes, *, name: str) -> Recording`` (``name``: the path, for messages).
    """

    name: str
    description: str
    module: str
    sniff: str
    parse: str


_TABLE = (
    ("isokin-csv", "our own recording CSV (isokin record)", "daq.importers", "_sniff_isokin", "_parse_isokin"),
    ("humac-csv", "HUMAC / Cybex NORM CSV export (ft-lb or N.m)", "daq.importers.humac", "sniff_humac", "parse_humac"),
    ("contrex-ctm", "Con-Trex MJ .CTM export", "daq.importers.contrex", "sniff_contrex", "parse_contrex"),
    ("biodex-txt", "Biodex System 4 raw-data text export", "daq.importers.biodex", "sniff_biodex", "parse_biodex"),
    ("isomed-txt", "IsoMed 2000 text export", "daq.importers.isomed", "sniff_isomed", "parse_isomed"),
)

#: Format name -> :class:`ImportFormat`, in detection order.
FORMATS: Mapping[str, ImportFormat] = MappingProxyType({row[0]: ImportFormat(*row) for row in _TABLE})


def _sniff_isokin(head: str) -> bool:
    lines = head.lstrip("\ufeff").split("\n", 200)
    if lines[0].startswith("# isokin recording"):
        return True
    first = next((line for line in lines if not line.startswith("#")), "")
    return first.strip().startswith("time_s,torque_nm,position_deg,velocity_dps")


def _parse_isokin(raw: bytes, *, name: str) -> Recording:
    recording = read_recording(raw, source=name)
    if "source_format" in recording.metadata:
        return recording
    return dataclasses.replace(recording, metadata={"source_format": "isokin", **recording.metadata})


def _function(fmt: ImportFormat, attribute: str) -> Callable[..., Any]:
    func: Callable[..., Any] = getattr(importlib.import_module(fmt.module), attribute)
    return func


def _read(path: str | os.PathLike[str], *, limit: int = -1) -> bytes:
    try:
        with open(path, "rb") as f:
            raw = f.read(limit)
    except OSError as err:
        raise RecordingFormatError(f"{path}: cannot read: {err.strerror or err}") from err
    if not raw or raw.isspace():  # isspace stops at the first other byte; strip would copy the file
        raise RecordingFormatError(f"{path}: empty file")
    if b"\0" in raw[:_SNIFF_BYTES]:
        raise RecordingFormatError(f"{path}: binary file, not a text export")
    return raw


def _detect(raw: bytes, name: str) -> str:
    head = decode_text(raw[:_SNIFF_BYTES]).replace("\r\n", "\n")
    for fmt in FORMATS.values():
        if _function(fmt, fmt.sniff)(head):
            return fmt.name
    raise RecordingFormatError(f"{name}: unknown format (not one of {', '.join(FORMATS)})")


def detect_format(path: str | os.PathLike[str]) -> str:
    """The name of the format of a file (a key of :data:`FORMATS`), from its content.

    Raises
    ------
    RecordingFormatError
        When the file cannot be read, is empty or binary, or matches no format.
    """
    return _detect(_read(path, limit=_SNIFF_BYTES), str(path))


def load_recording(path: str | os.PathLike[str], *, format: str | None = None) -> Recording:
    """Read a recording or a vendor export and return it in our conventions.

    Parameters
    ----------
    path
        The file to read.
    format
        A key of :data:`FORMATS`, or ``None`` to detect it from the content.

    Returns
    -------
    Recording
        Time in s from 0, torque in N.m, position in deg, velocity in deg/s, signed as
        in DOMAIN.md section 2; ``metadata["source_format"]`` names the format.

    Raises
    ------
    ValueError
        When ``format`` is not a key of :data:`FORMATS`.
    RecordingFormatError
        For any problem with the file; the one-line message names the file.
    """
    if format is not None and format not in FORMATS:
        raise ValueError(f"unknown format {format!r}; known: {', '.join(FORMATS)}")
    name = str(path)
    raw = _read(path)
    fmt = FORMATS[format or _detect(raw, name)]
    parse = _function(fmt, fmt.parse)
    try:
        recording: Recording = parse(raw, name=name)
    except (ValueError, IndexError, KeyError, UnicodeError) as err:
        # a parser bug must still surface as a format error naming the file
        raise RecordingFormatError(f"{name}: cannot read as {fmt.name}: {err}") from err
    return recording


def warnings_of(metadata: Mapping[str, str]) -> dict[str, str]:
    """``rule -> message`` of the data-quality warnings an importer left in a recording's metadata."""
    return {key[len(WARNING_PREFIX):]: value for key, value in metadata.items() if key.startswith(WARNING_PREFIX) and value}
