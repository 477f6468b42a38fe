"""``isokin report FILE... --out report.pdf``: the printed report from recordings and vendor exports.

It takes every option of ``isokin analyze`` (the files are analysed the same way, into the
same JSON document) and lays that document out as the service's session report does:
tables, torque-angle overlays from the files' own samples, deficits, ratios, flags and the
processing log. ``--out`` ending in ``.html`` writes the HTML instead of the PDF.
No service or database is needed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

__all__ = ["add_parser", "run"]


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help_text: str) -> None:
    from api.cli import analyze

    parser = analyze.add_parser(subparsers, name, help_text)
    parser.description = __doc__.split("\n\n")[0] + " Options as for 'isokin analyze'."
    parser.add_argument("--out", required=True, metavar="FILE", help="the PDF to write (or HTML, when it ends in .html)")
    for action in parser._actions:
        if action.dest == "json":
            action.help = "also print the JSON document the report shows"
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from api.cli.analyze import build_document, load
    from api.report_pdf import Curves, report_html, report_pdf

    out = Path(args.out)
    if not out.parent.is_dir():
        raise OSError(f"--out: directory {out.parent} does not exist")
    started = time.perf_counter()
    document = build_document(args)
    curves = {}
    subjects, dates = set(), set()
    for index, (path, entry) in enumerate(zip(args.files, document["recordings"], strict=True)):
        recording = load(path)
        curves[index] = Curves.of(entry, recording.time_s, recording.torque_nm, recording.position_deg)
        if recording.metadata.get("subject"):
            subjects.add(recording.metadata["subject"])
        if recording.metadata.get("started_at"):
            dates.add(recording.metadata["started_at"][:10])
    extra = {
        "subject": ", ".join(sorted(subjects)) or "–",
        "date": ", ".join(sorted(dates)) or "–",
        "protocol": "files: " + ", ".join(Path(p).name for p in args.files),
    }
    html = report_html(document, curves, standalone=True, extra=extra)
    if out.suffix.lower() in (".html", ".htm"):
        out.write_text(html, encoding="utf-8")
    else:
        out.write_bytes(report_pdf(html))
    if args.json:
        print(json.dumps(document, indent=2, allow_nan=False))
    print(f"isokin report: wrote {out} ({out.stat().st_size} bytes, {time.perf_counter() - started:.1f} s)", file=sys.stderr)
    return 0
