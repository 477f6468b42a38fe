"""The ``isokin`` command line.

Each subcommand lives in its own module of this package with two functions:
``add_parser(subparsers)`` which declares it, and ``run(args) -> int`` which runs it.
Modules are imported only when their subcommand runs, so ``isokin --help`` stays fast.

User mistakes (a missing port, a bad file, a wrong URL) end with one line on stderr
and a non-zero exit: every domain error below ``api`` (``ProtocolError``,
``DaqError``, ``AnalysisError``) and ``ValueError``/``OSError`` is caught here.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

__all__ = ["main", "SUBCOMMANDS"]

#: name -> (module, one-line help). Order is the order of ``isokin --help``.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "sim": ("api.cli.sim", "run the simulated dynamometer on a pseudo-terminal or a TCP port"),
    "ports": ("api.cli.ports", "list the serial ports of this machine"),
    "record": ("api.cli.record", "record torque, position and velocity from a device to a CSV file"),
    "analyze": ("api.cli.analyze", "analyse recordings and vendor exports: peak torque, ratios, deficits"),
    "report": ("api.cli.report", "the printed report (PDF) of recordings and vendor exports, without the service"),
    "norms": ("api.cli.norms", "list the normative reference sets loaded, where from, and the files left out"),
    "serve": ("api.cli.serve", "run the REST service (subjects, sessions, protocols; docs at /docs)"),
    "token": ("api.cli.token", "create, list or revoke the REST service's bearer tokens"),
    "db": ("api.cli.db", "migrate, check or back up the REST service's database, or show its revision"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="isokin",
        description="Isokinetic dynamometer data acquisition, simulation and analysis.",
        epilog="Run 'isokin COMMAND --help' for the options of a command.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in SUBCOMMANDS.items():
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as err:
            if err.name != module:
                raise
            continue  # subcommand not built yet
        mod.add_parser(sub, name, help_text)
    return parser


def _user_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [ValueError, OSError]
    for module, attr in (
        ("firmware_protocols.errors", "ProtocolError"),
        ("daq.errors", "DaqError"),
        ("analysis.errors", "AnalysisError"),
        ("api.errors", "ServiceError"),
    ):
        try:
            errors.append(getattr(importlib.import_module(module), attr))
        except (ImportError, AttributeError):
            pass
    return tuple(errors)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        return 130
    except _user_errors() as err:
        print(f"isokin {args.command}: error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
