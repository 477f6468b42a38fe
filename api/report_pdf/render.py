"""The report as HTML (for the web page) and as PDF (WeasyPrint), from the analyze JSON document.

Why WeasyPrint: it lays out the same HTML and CSS the web page shows, so the page and the
PDF cannot drift apart; it runs offline on Debian's pango (no browser, no network), and
its text is real text, so ``pdftotext`` reads the figures back. Figures are matplotlib
SVG, drawn the same way for both.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from api.report_pdf.figures import Curves, figures_for
from api.report_pdf.model import ENDURANCE_MIN_REPETITIONS, report_view
from api.report_pdf.norms_figures import angle_lsi_chart, norm_chart
from api.report_pdf.norms_view import angle_lsi_rows, norm_view

__all__ = ["CSS_PATH", "report_html", "report_pdf"]

_HERE = Path(__file__).parent
#: The report's style sheet (the web app serves it for the report page).
CSS_PATH = _HERE / "report.css"


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(_HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=False,
        lstrip_blocks=False,
    )


def _version() -> str:
    try:
        return version("isokin")
    except PackageNotFoundError:
        return "unknown"


def _css_string(text: str) -> str:
    """Text safe inside a double-quoted CSS string within a <style> element."""
    return "".join(ch if ch.isalnum() or ch in " -_.,:;()/+" else f"\\{ord(ch):x} " for ch in text)


def report_html(
    document: dict[str, Any],
    curves: Mapping[int, Curves],
    *,
    standalone: bool,
    extra: dict[str, str] | None = None,
    goals: list[dict[str, Any]] | None = None,
) -> str:
    """The report as HTML.

    Parameters
    ----------
    document
        The analyze JSON document (a session report or ``isokin analyze --json``).
    curves
        Samples of each ``recordings`` entry, by its index, for the figures; entries
        without curves are drawn without them.
    standalone
        A whole HTML document with its style sheet (for the PDF), or the ``<article>``
        alone (for the web page, which loads the style sheet itself).
    extra, goals
        See :func:`api.report_pdf.model.report_view`.
    """
    view = report_view(document, extra=extra, goals=goals)
    norms = norm_view(document)
    figures = figures_for(document, view, curves) | {"norms": norm_chart(norms), "angle_lsi": angle_lsi_chart(document)}
    header = dict(view.header)
    made = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    context = {
        "view": view,
        "norms": norms,
        "angle_lsi": angle_lsi_rows(document),
        "endurance_min": ENDURANCE_MIN_REPETITIONS,
        "figures": figures,
        "gravity_any": any(r.get("gravity_corrected") for r in document.get("recordings", [])),
        "footer": f"Made by isokin {_version()} on {made} from the analysis document {document.get('schema', '')}; "
        "figures are those of the JSON report, rounded as printed.",
    }
    if not standalone:
        return _environment().get_template("report_body.html.j2").render(context)
    title = f"isokin report {header.get('Subject', '')} {header.get('Date', '')}".strip()
    return _environment().get_template("report.html.j2").render(
        context, title=title, css=CSS_PATH.read_text(encoding="utf-8"), running_title=_css_string(title)
    )


class _SvgStyleNoise(logging.Filter):
    """Drop WeasyPrint's warnings about SVG presentation properties in style attributes (its SVG renderer applies them)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.getMessage().startswith("Ignored `") and "unknown property" in record.getMessage())


def report_pdf(html: str) -> bytes:
    """A standalone report HTML (:func:`report_html`) laid out as an A4 PDF.

    Raises
    ------
    RuntimeError
        When WeasyPrint or its system libraries (pango) are missing, with the install command.
    """
    try:
        import weasyprint
    except (ImportError, OSError) as err:  # OSError: pango missing
        raise RuntimeError(
            f"PDF reports need WeasyPrint and Debian's pango ({err}): pip install -e . and "
            "apt-get install -y libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core"
        ) from err
    logger = logging.getLogger("weasyprint")
    if not any(isinstance(f, _SvgStyleNoise) for f in logger.filters):
        logger.addFilter(_SvgStyleNoise())
    pdf: bytes = weasyprint.HTML(string=html, base_url=str(_HERE)).write_pdf()
    return pdf
