"""``isokin analyze FILE... [--json]``: peak torque, work, fatigue, ratios, bilateral deficits and flags.

Each FILE is a recording CSV or a vendor export (detected by ``daq.importers.load_recording``).
Command-line options override the files' metadata. Several files are analysed together,
paired by the rule of ``analysis.pairing``: ratios within one file or one subject's session
and side, bilateral deficits across one session's sides, test-retest changes across one
subject's sessions, nothing across subjects. Subject and session come from the files
(``subject``; ``session`` or the date of ``started_at``; a HUMAC name's subject and test
time; a Con-Trex header's subject and date); a file without them is compared only with
itself unless ``--same-session`` says the files are one session. The JSON document
(``--json``) is the contract described in ``analysis/README.md``.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from analysis import (
    COLUMNS,
    PASSIVE_MODES,
    THRESHOLD_SOURCES,
    AnalysisError,
    AnalysisOptions,
    RecordingAnalysis,
    Thresholds,
    analyze_recording,
    build_report,
    compare,
    render_text,
)
from analysis.joints import MODES
from daq.errors import RecordingFormatError
from daq.importers import load_recording, warnings_of
from daq.recording import Recording

__all__ = ["add_parser", "analyze_file", "build_document", "load", "run"]


def load(path: str) -> Recording:
    """Read a recording CSV or a vendor export (the format detected from the content)."""
    return load_recording(path)


def _override(value: Any, recording: Recording, key: str) -> Any:
    if value is not None:
        return value
    text = recording.metadata.get(key, "").strip()
    return text or None


def analyze_file(
    path: str, args: argparse.Namespace, options: AnalysisOptions, recording: Recording | None = None
) -> RecordingAnalysis:
    """Load one file (unless given) and analyse it with the command-line overrides applied."""
    recording = load(path) if recording is None else recording
    name = Path(path).name
    joint = _override(args.joint, recording, "joint")
    if joint is None:
        raise AnalysisError(f"{name}: the file does not name the joint; give --joint")
    pattern = args.pattern if args.pattern is not None else recording.metadata.get("pattern") or None
    side = _override(args.side, recording, "side")
    if side is not None and side.lower() not in ("left", "right"):
        raise AnalysisError(f"{name}: side {side!r} is neither left nor right")
    number = recording.meta_float
    try:
        result = analyze_recording(
            recording.time_s,
            recording.torque_nm,
            recording.position_deg,
            recording.velocity_dps,
            joint=joint,
            pattern=pattern,
            side=side.lower() if side else None,
            body_mass_kg=args.body_mass_kg if args.body_mass_kg is not None else number("body_mass_kg"),
            gravity_torque_nm=args.gravity_torque_nm if args.gravity_torque_nm is not None else number("gravity_torque_nm"),
            horizontal_angle_deg=(
                args.horizontal_angle_deg if args.horizontal_angle_deg is not None else number("horizontal_angle_deg")
            ),
            markers=recording.markers,
            **_test_plan(recording),
            **_identity(recording),
            sample_index=recording.extra.get("sequence"),
            warnings=warnings_of(recording.metadata),
            source=name,
            options=options,
        )
    except AnalysisError as err:
        text = str(err)
        raise type(err)(text if text.startswith(name) else f"{name}: {text}") from err
    except ValueError as err:
        raise RecordingFormatError(f"{name}: {err}") from err
    if args.torque_angle_deg is not None:  # only an angle asked for; the default is not every joint's
        _warn_angle(name, args.torque_angle_deg, recording.position_deg)
    return result


def _identity(recording: Recording) -> dict[str, Any]:
    """Who was tested and in which session, from the file's metadata (``None`` when it does not say)."""
    meta = recording.metadata
    subject = meta.get("subject", "").strip() or None
    session = meta.get("session", "").strip() or None
    started = re.match(r"\s*(\d{4}-\d{2}-\d{2})", meta.get("started_at", ""))
    if session is None and started:
        session = started.group(1)
    if session is None and meta.get("humac_time"):
        session = f"HUMAC test at {meta['humac_time'].strip()}"
    return {"subject": subject, "session": session}


def _test_plan(recording: Recording) -> dict[str, Any]:
    """What the test asked for, from the file's metadata (``mode``, ``group``, ``velocity_dps``, ``torque_sign``)."""
    meta = recording.metadata
    mode = meta.get("mode", "").strip().lower()
    speeds = [float(v) for v in re.findall(r"[0-9]+(?:\.[0-9]+)?", meta.get("velocity_dps", ""))[:2]]
    velocity = (speeds[0], speeds[-1]) if speeds and all(v > 0 for v in speeds) else None
    return {
        "mode": mode if mode in (*MODES, "isometric", *PASSIVE_MODES) else None,
        "group": meta.get("group", "").strip().lower() or None,
        "set_velocity_dps": velocity,
        "torque_unsigned": meta.get("torque_sign", "").strip().lower() == "unsigned",
    }


def _warn_angle(name: str, angle_deg: float | None, position_deg: np.ndarray) -> None:
    """One warning line when --torque-angle-deg lies outside the positions the recording covers."""
    if angle_deg is None or len(position_deg) == 0:
        return
    lo, hi = float(np.min(position_deg)), float(np.max(position_deg))
    if not lo <= angle_deg <= hi:
        print(f"isokin analyze: warning: {name}: --torque-angle-deg {angle_deg:g} is outside the recording's "
              f"range {lo:.1f}..{hi:.1f} deg; torque at that angle is not reported", file=sys.stderr)


def _validate(args: argparse.Namespace) -> None:
    """Refuse impossible option values (one error line, before any file is read)."""
    if args.age_years is not None and not 0 < args.age_years < 130:
        raise ValueError(f"--age-years must be within 0..130, got {args.age_years:g}")
    if args.birth_year is not None and not 1900 <= args.birth_year <= dt.date.today().year:
        raise ValueError(f"--birth-year must be within 1900..{dt.date.today().year}, got {args.birth_year}")
    if args.body_mass_kg is not None and not args.body_mass_kg > 0:
        raise ValueError(f"--body-mass-kg must be positive, got {args.body_mass_kg:g}")
    for option in ("torque_angle_deg", "horizontal_angle_deg"):
        value = getattr(args, option)
        if value is not None and not -360.0 <= value <= 360.0:
            raise ValueError(f"{_option_name(option)} must be within -360..360 deg, got {value:g}")
    if args.torque_time_s is not None and args.torque_time_s < 0:
        raise ValueError(f"--torque-time-s must not be negative, got {args.torque_time_s:g}")


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Shows an option's default only when it has one and its help does not already say it."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if "default" in text or action.default is None or action.default is False or action.default is argparse.SUPPRESS:
            return text
        if action.option_strings:
            text += " (default: %(default)s)"
        return text


def _cutoff(text: str) -> float | None:
    if text.strip().lower() in ("none", "off", "0"):
        return None
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be positive, or 'none' to analyse the raw signal")
    return value


def _option_name(field: str) -> str:
    return "--" + field.replace("_", "-")


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help_text: str) -> argparse.ArgumentParser:
    columns = "\n".join(f"  {name}: {meaning}" for name, meaning in COLUMNS.items())
    parser = subparsers.add_parser(
        name, help=help_text, description=__doc__.split("\n\n")[0], formatter_class=_HelpFormatter,
        epilog="The text output opens with the verdict (one line per finding, then what could not be evaluated and "
               "why) and the pairing applied, then a table per set. Its columns:\n" + columns,
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="recording CSV or vendor export")
    parser.add_argument("--json", action="store_true", help="print one JSON document (see analysis/README.md)")
    meta = parser.add_argument_group("overrides of the files' metadata")
    meta.add_argument("--joint", help="knee, shoulder, elbow, wrist, hip or ankle")
    meta.add_argument("--pattern", help="movement pattern, e.g. flexion/extension (default: the joint's first)")
    meta.add_argument("--side", choices=("left", "right"), help="side of every file given")
    meta.add_argument("--body-mass-kg", type=float, help="subject body mass (kg)")
    meta.add_argument("--gravity-torque-nm", type=float, help="limb + lever torque with the segment horizontal (N.m)")
    meta.add_argument("--horizontal-angle-deg", type=float, help="position where the segment is horizontal (deg)")
    meta.add_argument("--involved", choices=("left", "right"), help="side under test (default: stronger side is the reference)")
    meta.add_argument("--same-session", action="store_true",
                      help="the files are one subject's one session: pair them whatever their metadata lacks "
                           "(default: files without subject and session are compared only with themselves)")
    proc = parser.add_argument_group("processing")
    defaults = AnalysisOptions()
    proc.add_argument("--cutoff-hz", type=_cutoff, default=defaults.cutoff_hz,
                      help="low-pass cut-off (Hz) of the velocity and highest of the torque, 'none' for the raw signal")
    proc.add_argument("--fixed-cutoff", action="store_true",
                      help="filter the torque at --cutoff-hz in every set (default: per set, as high as its noise allows)")
    proc.add_argument("--window-tolerance-percent", type=float, default=defaults.window_tolerance_percent,
                      help="load range: speed within this %% of the set velocity")
    proc.add_argument("--torque-angle-deg", type=float,
                      help=f"read torque at this angle (deg; default: {defaults.torque_angle_deg:g}, warned about "
                           "when outside a recording's range)")
    proc.add_argument("--torque-time-s", type=float, default=defaults.torque_time_s, help="read torque at this time from onset (s)")
    proc.add_argument("--inertia-kgm2", type=float,
                      help="limb + lever moment of inertia, or an upper bound of it (kg.m^2; default: the joint's bound for "
                           "the body mass, analysis/README.md); bounds the inertial torque in a ringing servo's load ranges, "
                           "0 turns that check off")
    proc.add_argument("--no-markers", action="store_true", help="segment by velocity even when the file has device markers")
    norms = parser.add_argument_group("normative comparison (reference sets: isokin norms)")
    norms.add_argument("--sex", choices=("female", "male", "other"), help="the subject's sex")
    norms.add_argument("--birth-year", type=int, help="the subject's year of birth (age: the recording's year minus it)")
    norms.add_argument("--age-years", type=float, help="the subject's age on the test day (instead of --birth-year)")
    norms.add_argument("--sport", help="the sport or population compared with (default: the general population)")
    norms.add_argument("--dominant-side", choices=("left", "right"), help="for references by dominant side")
    norms.add_argument("--dynamometer", metavar="TEXT",
                       help="the dynamometer recorded on, e.g. 'Biodex System 4' (default: the file's export format or "
                            "its calibration profile's device)")
    norms.add_argument("--norms-dir", metavar="DIR", help="a folder of the lab's own reference sets (also ISOKIN_NORMS_DIR)")
    flags = parser.add_argument_group("flag thresholds")
    for field in dataclasses.fields(Thresholds):
        flags.add_argument(_option_name(field.name), type=type(field.default), default=field.default,
                           dest=f"threshold_{field.name}", help=THRESHOLD_SOURCES[field.name].replace("%", "%%"))
    parser.set_defaults(run=run)
    return parser


def options_of(args: argparse.Namespace) -> tuple[AnalysisOptions, Thresholds]:
    """The analysis options and flag thresholds the parsed command line asks for."""
    options = AnalysisOptions(
        cutoff_hz=args.cutoff_hz,
        noise_limit_percent=None if args.fixed_cutoff else AnalysisOptions().noise_limit_percent,
        window_tolerance_percent=args.window_tolerance_percent,
        torque_angle_deg=args.torque_angle_deg if args.torque_angle_deg is not None else AnalysisOptions().torque_angle_deg,
        torque_time_s=args.torque_time_s,
        use_markers=not args.no_markers,
        inertia_kgm2=args.inertia_kgm2,
    )
    thresholds = Thresholds(**{f.name: getattr(args, f"threshold_{f.name}") for f in dataclasses.fields(Thresholds)})
    return options, thresholds


def build_document(args: argparse.Namespace) -> dict[str, Any]:
    """The JSON document of the files and options parsed by :func:`add_parser` (also used by ``isokin report``)."""
    _validate(args)
    options, thresholds = options_of(args)
    recordings = [load(path) for path in args.files]
    analyses = [analyze_file(path, args, options, recording) for path, recording in zip(args.files, recordings)]
    comparison = compare(analyses, involved_side=args.involved, thresholds=thresholds, same_session=args.same_session)
    document = build_report(analyses, comparison, options=options, thresholds=thresholds, involved_side=args.involved)
    _attach_norms(document, args, recordings)
    return document


def _attach_norms(document: dict[str, Any], args: argparse.Namespace, recordings: list[Recording]) -> None:
    """The ``norms`` section: the subject from the options, each file's dynamometer from the option or the file."""
    from analysis.norms_match import SubjectFacts
    from api.norms import attach_norms, load_norms, norm_folders, recording_dynamometer
    from api.settings import Settings

    age = args.age_years
    if age is None and args.birth_year is not None:
        years = sorted({int(m.group(1)) for r in recordings if (m := re.match(r"\s*(\d{4})-", r.metadata.get("started_at", "")))})
        age = float((years[0] if years else dt.date.today().year) - args.birth_year)
    subject = SubjectFacts(sex=args.sex, age_years=age, sport=args.sport, dominant_side=args.dominant_side)
    settings = Settings.from_overrides(norms_dir=args.norms_dir)
    loaded = load_norms(norm_folders(settings.data_dir, settings.norms_dir))
    for _, message in loaded.errors:
        print(f"isokin {args.command}: warning: reference set left out: {message}", file=sys.stderr)
    attach_norms(document, loaded, subject, [recording_dynamometer(r.metadata, explicit=args.dynamometer) for r in recordings])


def run(args: argparse.Namespace) -> int:
    report = build_document(args)
    emit: Callable[[str], None] = print
    if args.json:
        emit(json.dumps(report, indent=2, allow_nan=False))
    else:
        emit(render_text(report).rstrip("\n"))
    return 0
