"""Normative reference sets on disk: the bundled ones and a lab's own, and the ``norms`` section of reports.

Sets are read (``analysis.norms.parse_reference_set``) from, in order:

1. the package's ``analysis/norms_data/*.csv`` (``bundled:<file>``);
2. ``<data dir>/norms/*.csv`` (the service's data directory, ``ISOKIN_DATA_DIR``);
3. ``ISOKIN_NORMS_DIR`` (or ``--norms-dir``), when set.

A lab drops a file in one of those folders; it is read at the next report, nothing to
restart. A file that breaks the format, or repeats an id already loaded, is left out and
named with its error (``isokin norms`` lists both, and every report's ``norms`` section
carries ``load_errors``), so one bad file never hides the others.

:func:`attach_norms` adds to a report document, for each recording, the dynamometer it was
recorded on (``dynamometer``) and the ``norms`` section (``analysis.norms_match``). This module
needs no web framework and no database (``isokin analyze`` imports it); a service report's
part, from stored rows, is :mod:`api.report_norms`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from analysis.norms import NormsFormatError, ReferenceSet, parse_reference_set
from analysis.norms_match import SubjectFacts, norms_section
from daq.calibration import load_profile, shipped_profiles

__all__ = [
    "EXPORT_DYNAMOMETERS",
    "LoadedNorms",
    "attach_norms",
    "load_norms",
    "norm_folders",
    "recording_dynamometer",
]


#: Vendor export formats (``source_format``) -> the machine that wrote them.
EXPORT_DYNAMOMETERS: Mapping[str, str] = {
    "humac-csv": "HUMAC NORM (export)",
    "contrex-ctm": "Con-Trex (export)",
    "biodex-txt": "Biodex System 4 (export)",
    "isomed-txt": "IsoMed 2000 (export)",
}
#: Largest reference set file read, bytes (a table of a few hundred rows is a few tens of KiB).
MAX_FILE_BYTES = 1024 * 1024


@dataclass(frozen=True)
class LoadedNorms:
    """The sets loaded, the files left out with their error, and the folders looked in."""

    sets: tuple[ReferenceSet, ...]
    errors: tuple[tuple[str, str], ...]
    folders: tuple[str, ...]


def norm_folders(data_dir: Path | None, norms_dir: Path | None) -> list[Path]:
    """The folders a lab's sets are read from: ``<data_dir>/norms`` and ``norms_dir`` (each when given)."""
    folders = [] if data_dir is None else [data_dir.expanduser() / "norms"]
    if norms_dir is not None and norms_dir.expanduser() not in folders:
        folders.append(norms_dir.expanduser())
    return folders


def _bundled() -> list[tuple[str, str]]:
    folder = resources.files("analysis") / "norms_data"
    return [(f"bundled:{p.name}", p.read_text(encoding="utf-8"))
            for p in sorted(folder.iterdir(), key=lambda p: p.name) if p.name.endswith(".csv")]  # fmt: skip


def _read(path: Path) -> str:
    if path.stat().st_size > MAX_FILE_BYTES:
        raise NormsFormatError(f"{path}: larger than {MAX_FILE_BYTES // 1024} KiB: not a reference set")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise NormsFormatError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from err


def load_norms(folders: Sequence[Path] = ()) -> LoadedNorms:
    """Every bundled set and every ``*.csv`` in ``folders`` (a missing folder is simply empty)."""
    sources: list[tuple[str, str | None, str | None]] = [(origin, text, None) for origin, text in _bundled()]
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.csv")):
            try:
                sources.append((str(path), _read(path), None))
            except (OSError, NormsFormatError) as err:
                sources.append((str(path), None, str(err) if isinstance(err, NormsFormatError) else f"{path}: {err.strerror or err}"))
    sets: list[ReferenceSet] = []
    errors: list[tuple[str, str]] = []
    for origin, text, error in sources:
        if text is None:
            errors.append((origin, error or "unreadable"))
            continue
        try:
            found = parse_reference_set(text, origin)
        except NormsFormatError as err:
            errors.append((origin, str(err)))
            continue
        first = next((s for s in sets if s.id == found.id), None)
        if first is not None:
            errors.append((origin, f"{origin}: id {found.id!r} is already loaded from {first.origin}: give this set another id"))
            continue
        sets.append(found)
    return LoadedNorms(tuple(sets), tuple(errors), tuple(str(f) for f in folders))


def recording_dynamometer(metadata: Mapping[str, str], *, explicit: str | None = None) -> str | None:
    """The dynamometer a recording comes from, as text: ``explicit``, else the file's ``dynamometer``,
    else the vendor export's machine, else the device named by its shipped calibration profile, else
    the device model; ``None`` when nothing says."""
    if explicit:
        return explicit
    if metadata.get("dynamometer", "").strip():
        return metadata["dynamometer"].strip()
    made = EXPORT_DYNAMOMETERS.get(metadata.get("source_format", "").strip())
    if made:
        return made
    calibration = metadata.get("calibration", "").strip()
    if calibration and calibration in shipped_profiles():
        return load_profile(calibration).device
    return metadata.get("device_model", "").strip() or None


def attach_norms(
    document: dict[str, Any],
    loaded: LoadedNorms,
    subject: SubjectFacts,
    dynamometers: Sequence[str | None],
    *,
    velocity_match_percent: float = 10.0,
) -> None:
    """Add ``dynamometer`` to each of ``document``'s recordings and its ``norms`` section (in place)."""
    for entry, dynamometer in zip(document.get("recordings", []), dynamometers):
        entry["dynamometer"] = dynamometer
    section = norms_section(document, loaded.sets, subject, dynamometers=dynamometers,
                            velocity_match_percent=velocity_match_percent)  # fmt: skip
    section["load_errors"] = [{"origin": origin, "error": message} for origin, message in loaded.errors]
    document["norms"] = section
