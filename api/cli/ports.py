"""``isokin ports``: the serial ports of this machine, one per line (or ``--json``).

Pseudo-terminals (``isokin sim --pty``) are not listed: the simulator prints its own path.
"""

from __future__ import annotations

import argparse
import json

from serial.tools import list_ports

__all__ = ["add_parser", "run"]


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help_text: str) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(name, help=help_text, description=help_text + ".")
    parser.add_argument("--json", action="store_true", help="print a JSON list of {device, description, hwid}")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    ports = sorted(list_ports.comports(), key=lambda p: p.device)
    if args.json:
        print(json.dumps([{"device": p.device, "description": p.description, "hwid": p.hwid} for p in ports]))
        return 0
    if not ports:
        print("no serial ports found")
    for p in ports:
        print(f"{p.device}\t{p.description}\t[{p.hwid}]")
    return 0
