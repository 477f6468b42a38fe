"""``isokin sim``: run the simulated dynamometer on a pseudo-terminal or a TCP port.

The first line on stdout is what to connect to (the pty symlink, or
``socket://127.0.0.1:PORT``), flushed at once so a script can read it; a hint on
how to record from it follows on stderr. The device runs until Ctrl-C, SIGTERM or
``--duration``, then writes ``--emitted-log`` and ``--truth-out`` if asked.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path
from types import FrameType

from simulators.device import SAMPLE_RATES_HZ
from simulators.faults import FaultConfig
from simulators.joints import JOINT_PATTERNS
from simulators.session import SimSession, SimSettings
from simulators.transports import Endpoint, PtyEndpoint, TcpEndpoint

__all__ = ["add_parser", "run"]


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help_text: str) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        name,
        help=help_text,
        description="Run a simulated isokinetic dynamometer board. Its first line of output is the "
        "device path or URL to record from (e.g. isokin record PATH --seconds 10 --out demo.csv).",
        epilog="Faults are seeded by --seed and logged frame by frame in --emitted-log. The ASCII protocol "
        "has no checksum: a corrupted line may reach the host as a sample with wrong values, so exact "
        "loss accounting needs the binary protocol. Fault and disconnect times are device seconds "
        "(real seconds times --speed); the disconnect counts from the first START.",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--pty", action="store_true", help="serve on a pseudo-terminal (default)")
    where.add_argument("--tcp", type=int, metavar="PORT", help="serve on socket://127.0.0.1:PORT (0 picks a free port)")
    parser.add_argument("--link", metavar="PATH", help="pty symlink path (default /tmp/isokin-sim-<pid>)")
    parser.add_argument("--protocol", choices=("binary", "ascii"), default="binary", help="wire protocol (default binary)")
    parser.add_argument("--no-counter", action="store_true", help="ASCII lines without the sample counter")
    parser.add_argument("--rate", type=int, default=1000, metavar="HZ", help="sample rate until the host configures one (default 1000)")
    parser.add_argument("--profile", metavar="NAME|FILE", help="subject profile: a bundled one by name (default, end_range_deficit) or a JSON file; default: 'default'")
    parser.add_argument("--joint", choices=tuple(JOINT_PATTERNS), default="knee", help="simulated joint (default knee)")
    parser.add_argument("--side", choices=("left", "right"), default="left", help="simulated side (default left)")
    parser.add_argument("--speed", type=float, default=1.0, metavar="FACTOR", help="time-scale factor, e.g. 10 = ten times faster")
    parser.add_argument("--seed", type=int, default=0, help="seed of the subject and of the faults (default 0)")
    faults = parser.add_argument_group("fault injection (seeded, reproducible)")
    faults.add_argument("--fault-corrupt-rate", type=float, default=0.0, metavar="P", help="probability that each byte is corrupted")
    faults.add_argument("--fault-drop-rate", type=float, default=0.0, metavar="P", help="probability that each byte is dropped")
    faults.add_argument("--fault-disconnect-after", type=float, metavar="S", help="drop the link S device seconds after streaming starts")
    faults.add_argument("--fault-reconnect-delay", type=float, default=1.0, metavar="S", help="device seconds the link stays down (default 1)")
    faults.add_argument("--fault-drift-ppm", type=float, default=0.0, metavar="PPM", help="device clock error, parts per million")
    out = parser.add_argument_group("ground truth")
    out.add_argument("--emitted-log", metavar="FILE", help="write every emitted sample (.npz or .csv) on exit")
    out.add_argument("--truth-out", metavar="FILE", help="write the repetition ground truth JSON on exit")
    parser.add_argument("--duration", type=float, metavar="S", help="stop after S real seconds (default: until Ctrl-C/SIGTERM)")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    if args.rate not in SAMPLE_RATES_HZ:
        raise ValueError(f"--rate {args.rate} Hz is not supported; use one of {', '.join(map(str, SAMPLE_RATES_HZ))}")
    if args.emitted_log and Path(args.emitted_log).suffix.lower() not in (".npz", ".csv"):
        raise ValueError(f"--emitted-log {args.emitted_log}: use a .npz or .csv file name")
    for option, value in (("--emitted-log", args.emitted_log), ("--truth-out", args.truth_out)):
        if value:
            _check_writable(option, Path(value))
    if args.link and args.tcp is not None:
        raise ValueError("--link applies to --pty only")
    settings = SimSettings(
        protocol=args.protocol,
        sample_rate_hz=args.rate,
        profile_path=args.profile,
        speed=args.speed,
        seed=args.seed,
        joint=args.joint,
        side=args.side,
        ascii_counter=not args.no_counter,
        faults=FaultConfig(
            corrupt_rate=args.fault_corrupt_rate,
            drop_rate=args.fault_drop_rate,
            disconnect_after_s=args.fault_disconnect_after,
            reconnect_delay_s=args.fault_reconnect_delay,
            drift_ppm=args.fault_drift_ppm,
            seed=args.seed,
        ),
        keep_emitted=args.emitted_log is not None,
    )
    endpoint: Endpoint = TcpEndpoint(args.tcp) if args.tcp is not None else PtyEndpoint(link_path=args.link)
    try:
        session = SimSession(settings, endpoint)
    except BaseException:
        endpoint.close()
        raise

    def _stop(signum: int, frame: FrameType | None) -> None:
        session.runner.stop()

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        endpoint.link_up()
        print(endpoint.url, flush=True)
        info = session.device.info
        print(
            f"isokin sim: {info.model} {info.serial_number}, {args.protocol} protocol, {args.rate} Hz, "
            f"{args.joint} {args.side}, speed x{args.speed:g}. Record with:\n"
            f"  isokin record {endpoint.url} --seconds 10 --out demo.csv\n"
            "Ctrl-C or SIGTERM to stop.",
            file=sys.stderr,
            flush=True,
        )
        session.run(duration_s=args.duration)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        session.write_outputs(emitted_path=args.emitted_log, truth_path=args.truth_out)
    if args.truth_out and not session.device.runs:
        print(f"isokin sim: nothing was streamed, {args.truth_out} not written", file=sys.stderr)
    log = session.runner.fault_log
    fates = {fate: sum(1 for f in log.frames if f.fate == fate) for fate in ("corrupted", "dropped", "cut", "undelivered")}
    print(
        f"isokin sim: stopped; frames lost: {', '.join(f'{n} {fate}' for fate, n in fates.items())} "
        f"({log.lost_samples()} samples)",
        file=sys.stderr,
    )
    return 0


def _check_writable(option: str, path: Path) -> None:
    """Refuse an output path that cannot be written, now rather than after the session (losing its truth)."""
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise ValueError(f"{option} {path}: it is a directory")
    if not folder.is_dir():
        raise ValueError(f"{option} {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise ValueError(f"{option} {path}: permission denied")
