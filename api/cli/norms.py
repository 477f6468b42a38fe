"""``isokin norms``: the normative reference sets loaded, where each comes from, and the files left out.

Sets are the bundled ones (``analysis/norms_data``), then ``<data dir>/norms/*.csv``, then
``ISOKIN_NORMS_DIR`` (or ``--norms-dir``). ``--check FILE...`` reads files as a lab would drop
them, and says what is wrong with each. The exit status is 1 when a file was left out.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

__all__ = ["add_parser", "run"]


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help_text: str) -> None:
    parser = subparsers.add_parser(name, help=help_text, description=__doc__.split("\n\n")[0] + ". " + __doc__.split("\n\n")[1])
    parser.add_argument("--data-dir", metavar="DIR", help="the service's data directory (default: ISOKIN_DATA_DIR, ~/.local/share/isokin)")
    parser.add_argument("--norms-dir", metavar="DIR", help="a folder of the lab's own reference sets (default: ISOKIN_NORMS_DIR)")
    parser.add_argument("--check", nargs="+", metavar="FILE", help="check these files only (the format: analysis/norms_data/README.md)")
    parser.add_argument("--json", action="store_true", help="print the sets, folders and errors as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from analysis.norms import FORMAT, NormsFormatError, parse_reference_set
    from api.norms import LoadedNorms, load_norms, norm_folders
    from api.settings import Settings

    if args.check:
        sets, errors = [], []
        for name in args.check:
            try:
                sets.append(parse_reference_set(Path(name).read_text(encoding="utf-8"), name))
            except (OSError, UnicodeDecodeError, NormsFormatError) as err:
                errors.append((name, str(err)))
        loaded = LoadedNorms(tuple(sets), tuple(errors), ())
    else:
        settings = Settings.from_overrides(data_dir=args.data_dir, norms_dir=args.norms_dir)
        loaded = load_norms(norm_folders(settings.data_dir, settings.norms_dir))
    if args.json:
        print(json.dumps({"sets": [s.describe() for s in loaded.sets], "folders": list(loaded.folders),
                          "errors": [{"origin": o, "error": e} for o, e in loaded.errors]}, indent=2))  # fmt: skip
        return 1 if loaded.errors else 0
    print(f"Reference sets ({len(loaded.sets)} {'checked' if args.check else 'loaded'}):")
    for s in loaded.sets:
        gravity = {None: "unknown", True: "yes", False: "no"}[s.gravity_corrected]
        rows = f"{len(s.rows)} row{'s' if len(s.rows) != 1 else ''}"
        print(f"  {s.id}: {s.short}, from {s.origin}\n"
              f"      population {s.sport}: {s.population}\n"
              f"      device {s.device}; gravity-corrected {gravity}; {rows}")
    if not args.check:
        print(f"Folders read for a lab's own sets (*.csv in format {FORMAT}, see analysis/norms_data/README.md):")
        for folder in loaded.folders:
            print(f"  {folder}{'' if Path(folder).is_dir() else ' (absent)'}")
    if loaded.errors:
        print(f"Left out ({len(loaded.errors)}):")
        for _, message in loaded.errors:
            print(f"  {message}")
        return 1
    return 0
