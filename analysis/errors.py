"""Errors of the analysis.

::

    AnalysisError            root of everything analysis raises on purpose
    +-- UnknownJointError    a joint or pattern not in the table of DOMAIN.md section 2
    +-- NoRepetitionsError   no repetition could be found in the signal

Bad arguments (negative cut-off, mismatched array lengths) stay ``ValueError``.
"""

from __future__ import annotations

__all__ = ["AnalysisError", "NoRepetitionsError", "UnknownJointError"]


class AnalysisError(Exception):
    """Root of the analysis errors."""


class UnknownJointError(AnalysisError):
    """The joint or movement pattern is not one the analysis knows."""


class NoRepetitionsError(AnalysisError):
    """No repetition could be found in the signal."""
