"""Errors of the analysis.

::

    AnalysisError            root of everything analysis raises on purpose
    +-- UnknownJointError    a joint or pattern not in the table of DOMAIN.md section 2
    +-- NoRepetitionsError   no repetition could be found in the signal
    +-- WeighingError        a limb weighing's samples give no weight (limb not relaxed, lever near vertical)

Bad arguments (negative cut-off, mismatched array lengths) stay ``ValueError``.
"""

from __future__ import annotations

__all__ = ["AnalysisError", "NoRepetitionsError", "UnknownJointError", "WeighingError"]


class AnalysisError(Exception):
    """Root of the analysis errors."""


class UnknownJointError(AnalysisError):
    """The joint or movement pattern is not one the analysis knows."""


class NoRepetitionsError(AnalysisError):
    """No repetition could be found in the signal."""


class WeighingError(AnalysisError, ValueError):
    """A limb weighing's samples give no weight (too few, lever off its angle or near vertical, limb not relaxed).

    Also a ``ValueError``, as it was before it had a class of its own.
    """
