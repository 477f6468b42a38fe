"""The printed report: a session's analyze JSON document as an HTML page and an A4 PDF.

``model`` turns the document into tables (Left | Right | Deficit %, ratios with their
references, deficits in bands, endurance, flags, processing log); ``figures`` draws the
curves (torque-angle overlays, torque-time, deficit bars, work per repetition, the
angle-specific ratio) as matplotlib SVG; ``render`` lays them out with jinja2 and
WeasyPrint. ``sources`` gathers the document and the curves from the database or from
recording files.
"""

from api.report_pdf.figures import Curves
from api.report_pdf.model import fmt, report_view, value_at
from api.report_pdf.render import CSS_PATH, report_html, report_pdf

__all__ = ["CSS_PATH", "Curves", "fmt", "report_html", "report_pdf", "report_view", "value_at"]
