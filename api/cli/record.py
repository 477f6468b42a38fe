"""``isokin record``: record a device to the recording CSV, then print what happened.

DEVICE is a serial path (``/dev/ttyACM0``, the path ``isokin sim --pty`` prints), any
pyserial URL (``socket://127.0.0.1:7000``, ``spy:///dev/ttyUSB0``) or ``sim://?...``
for a simulated device in this process. Rows reach the disk at least every half
second; Ctrl-C or SIGTERM stops cleanly and keeps the file. ``--lsl`` also publishes the
recording as Lab Streaming Layer streams (:mod:`daq.lsl_sink`).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from analysis.joints import PATTERN_DIRECTIONS, resolve_pattern
from daq.calibration import CalibrationProfile, load_profile, profile_for_model, shipped_profiles
from daq.csv_sink import CsvSink
from daq.devices import DRIVERS, open_driver
from daq.driver import Driver
from daq.lsl_sink import LslOutlets, LslSink, load_pylsl
from daq.plan import SetPlan
from daq.recorder import COMPLETE, INTERRUPTED, End, Recorder, RecordingSink, RecordingSummary, StopConditions
from daq.timing import MAX_CLOCK_ERROR
from firmware_protocols.vocabulary import DEFAULT_ROM_DEG, MODES

__all__ = ["add_parser", "run"]


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help_text: str) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        name,
        help=help_text,
        description=help_text + ". DEVICE: a serial path, a pyserial URL (socket://HOST:PORT, spy://PATH) "
        "or sim://?seed=1&speed=10 for an in-process simulated device.",
    )
    parser.add_argument("device", metavar="DEVICE", help="serial path or URL")
    parser.add_argument("--seconds", type=float, required=True, metavar="S", help="how long to record (host clock)")
    parser.add_argument("--out", required=True, metavar="FILE.csv", help="recording CSV to write")
    parser.add_argument("--protocol", choices=tuple(DRIVERS), default="binary", help="wire protocol (default binary)")
    parser.add_argument("--rate", type=int, metavar="HZ", help="sample rate (default 1000; ASCII: the board's rate)")
    parser.add_argument("--samples-per-frame", type=int, default=0, metavar="N", help="DATA batch size (default: device's)")
    parser.add_argument("--calibration", metavar="NAME|FILE",
                        help=f"calibration profile: a JSON file or one of {', '.join(shipped_profiles())} "
                        "(default: the shipped profile for the device's model)")
    parser.add_argument("--reconnect-timeout", type=float, default=10.0, metavar="S",
                        help="keep trying to reopen a lost device this long (default 10)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--lsl", action="store_true",
                        help="also publish the recording as Lab Streaming Layer streams (data and markers; needs "
                             "pip install 'isokin[lsl]')")
    parser.add_argument("--lsl-wait-s", type=float, default=0.0, metavar="S",
                        help="with --lsl: wait up to S seconds for a consumer (e.g. LabRecorder) before starting (default 0)")
    test = parser.add_argument_group("test (recording metadata; a driving device also receives mode, velocity, range)")
    test.add_argument("--joint", help="knee, shoulder, elbow, wrist, hip or ankle")
    test.add_argument("--pattern", help="movement pattern, e.g. flexion/extension (default: the joint's first)")
    test.add_argument("--side", choices=("left", "right"))
    test.add_argument("--mode", choices=tuple(MODES), help="test mode (driving devices)")
    test.add_argument("--group", metavar="DIRECTION", help="con/ecc and ecc/con: the acting group, e.g. extension")
    test.add_argument("--velocity-dps", metavar="V[/W]", help="set velocity, or +direction/-direction velocities")
    test.add_argument("--rom-deg", type=float, nargs=2, metavar=("MIN", "MAX"), help="range of motion (driving modes; default: the joint's usual range, e.g. knee 0 90)")
    test.add_argument("--repetitions", type=int, default=0, help="movements per direction, then stop (0: until --seconds)")
    test.add_argument("--body-mass-kg", type=float)
    test.add_argument("--gravity-torque-nm", type=float)
    test.add_argument("--horizontal-angle-deg", type=float)
    test.add_argument("--subject", help="pseudonymous subject code")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    if not args.seconds > 0:
        raise ValueError(f"--seconds must be positive, got {args.seconds}")
    if args.lsl_wait_s < 0 or (args.lsl_wait_s and not args.lsl):
        raise ValueError("--lsl-wait-s needs --lsl and a duration of 0 s or more")
    if args.lsl:
        load_pylsl()  # before the device opens: a missing pylsl is one clear line
    _check_writable(Path(args.out))
    joint, pattern = resolve_pattern(args.joint, args.pattern) if args.joint else (None, None)
    plan = _plan(args, joint, pattern)
    calibration = load_profile(args.calibration) if args.calibration else None
    if args.device.startswith("sim://"):
        _register_sim()
    driver = open_driver(
        args.device,
        protocol=args.protocol,
        calibration=calibration,
        sample_rate_hz=args.rate or 1000,
        reconnect_timeout_s=args.reconnect_timeout,
    )
    stop = threading.Event()
    running: list[Recorder] = []

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        # Ctrl-C asks the loop to stop, as SIGTERM does, rather than raising KeyboardInterrupt wherever the
        # main thread happens to be (inside a lock, a sink's write or the driver's close).
        if signum == signal.SIGINT and running:
            running[0].request_stop(End(INTERRUPTED, "interrupted"))
        stop.set()

    previous = {signum: signal.signal(signum, _on_signal) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        if driver.calibration is None:
            driver.calibration = _default_calibration(driver)
        driver.configure(plan)
        metadata = {
            "joint": joint,
            "pattern": pattern,
            "side": args.side,
            "mode": args.mode,
            "velocity_dps": args.velocity_dps,
            "repetitions": args.repetitions or None,
            "body_mass_kg": args.body_mass_kg,
            "gravity_torque_nm": args.gravity_torque_nm,
            "horizontal_angle_deg": args.horizontal_angle_deg,
            "subject": args.subject,
        }
        sinks: list[RecordingSink] = [CsvSink(args.out, metadata)]
        if args.lsl:
            sinks.append(_lsl_sink(driver, args))
        recorder = Recorder(driver, sinks)
        running.append(recorder)
        recorder.start(StopConditions(duration_s=args.seconds))
        summary = recorder.run(stop)
        bytes_received = driver.stats().bytes_received
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        driver.close()
    if summary.samples == 0:
        if args.json:
            print(json.dumps(summary.to_dict()))
        print(f"isokin record: error: {_nothing_recorded(args, summary, bytes_received)}", file=sys.stderr)
        return 1
    _print_summary(summary, as_json=args.json)
    if summary.state != COMPLETE and summary.stopped_by != "interrupted":
        print(f"isokin record: error: {summary.stopped_by}; the recording up to then is in {summary.path}", file=sys.stderr)
        return 1
    return 0


def _lsl_sink(driver: Driver, args: argparse.Namespace) -> LslSink:
    """The device's LSL outlets, open before START (and a consumer awaited when asked), as a sink that closes them."""
    outlets = LslOutlets()
    outlets.open(driver)
    print(f"isokin record: LSL streams {outlets.name!r} and {outlets.name + ' markers'!r} (source id {outlets.source_id})",
          file=sys.stderr)
    if args.lsl_wait_s > 0:
        print(f"isokin record: waiting up to {args.lsl_wait_s:g} s for an LSL consumer", file=sys.stderr, flush=True)
        if not outlets.wait_for_consumers(args.lsl_wait_s):
            print("isokin record: no LSL consumer came; recording anyway", file=sys.stderr)
    label = " ".join(str(x) for x in (args.subject, args.side, args.joint, args.mode, args.velocity_dps) if x)
    return LslSink(outlets, label=label or os.path.basename(args.out), own_outlets=True)


def _nothing_recorded(args: argparse.Namespace, summary: RecordingSummary, bytes_received: int) -> str:
    """The one-line reason for a recording without a sample (the file is kept, with its header)."""
    why = f"recorded no samples in {args.seconds:g} s (stopped by: {summary.stopped_by})"
    if bytes_received:
        others = [p for p in DRIVERS if p != args.protocol]
        hint = f"; is the device speaking {' or '.join(others)}? try --protocol {others[0]}" if others else ""
        return f"{why}: {bytes_received} bytes arrived but none decoded as {args.protocol}{hint}; file kept: {summary.path}"
    return f"{why}: nothing arrived from {args.device}; is it streaming? file kept: {summary.path}"


def _check_writable(path: Path) -> None:
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise ValueError(f"cannot write {path}: it is a directory")
    if not folder.is_dir():
        raise ValueError(f"cannot write {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise ValueError(f"cannot write {path}: permission denied")


def _register_sim() -> None:
    try:
        from simulators import register_url_handler
    except ImportError as err:
        raise ValueError(f"sim:// needs the simulators package, which cannot be imported: {err}") from err
    register_url_handler()


def _default_calibration(driver: Driver) -> CalibrationProfile:
    model = driver.info.model if driver.info else ""
    profile = profile_for_model(model)
    if profile is None:
        raise ValueError(
            f"no shipped calibration for device model {model or 'unknown'!r}: give --calibration NAME|FILE "
            f"(shipped: {', '.join(shipped_profiles())})"
        )
    return profile


def _plan(args: argparse.Namespace, joint: str | None, pattern: str | None) -> SetPlan:
    """What the device is asked for: plain sampling at the rate, or (``--mode``) the set it must drive."""
    rate = args.rate or 1000
    if args.mode is None:
        return SetPlan(rate, args.samples_per_frame)
    plus, minus = _velocities(args.velocity_dps or "60")
    joint, pattern = resolve_pattern(joint or "knee", pattern)
    if args.mode in ("con/ecc", "ecc/con") and args.group not in PATTERN_DIRECTIONS[pattern]:
        raise ValueError(f"--mode {args.mode} needs --group, one of: {', '.join(PATTERN_DIRECTIONS[pattern])}")
    if args.rom_deg is None:
        lo, hi = DEFAULT_ROM_DEG[(joint, pattern)]
        print(f"range of motion {lo:g}..{hi:g} deg, the {joint}'s usual range (--rom-deg MIN MAX to change)",
              file=sys.stderr)
    return SetPlan.for_set(
        joint, args.mode, pattern=pattern, group=args.group, velocity_dps=plus, velocity_minus_dps=minus,
        rom_deg=tuple(args.rom_deg) if args.rom_deg is not None else None, repetitions=args.repetitions,
        sample_rate_hz=rate, samples_per_frame=args.samples_per_frame,
    )


def _velocities(text: str) -> tuple[float, float]:
    parts = text.split("/")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) not in (1, 2) or not all(v > 0 for v in values):
        raise ValueError(f"--velocity-dps {text!r}: give V or V/W in deg/s, e.g. 60 or 60/180")
    return values[0], values[-1]


def _print_summary(s: RecordingSummary, *, as_json: bool) -> None:
    if as_json:
        print(json.dumps(s.to_dict()))
        return
    if s.drift_ppm is None:
        drift = "not fitted (too short)"
    elif abs(s.drift_ppm) > MAX_CLOCK_ERROR * 1e6:
        drift = f"device clock runs {1 + s.drift_ppm / 1e6:.2f}x the host's (a simulator's speed factor?); time_s follows it"
    else:
        drift = f"{s.drift_ppm:+.1f} ppm"
    uncounted = (
        f" (and {s.frames_lost_uncounted} frame{'s' if s.frames_lost_uncounted > 1 else ''} lost at the end, "
        "sample count unknown)" if s.frames_lost_uncounted else ""
    )
    print(
        f"recorded {s.samples} samples in {s.duration_s:.2f} s ({s.effective_rate_hz:.1f} Hz) to {s.path}\n"
        f"gaps: {s.gaps}, lost samples: {s.lost_samples}{uncounted}, CRC errors: {s.crc_errors}, "
        f"bytes discarded: {s.bytes_discarded}, reconnects: {s.reconnects}, overflow drops: {s.overflow_drops}\n"
        f"clock drift: {drift}; stopped by: {s.stopped_by}"
    )
