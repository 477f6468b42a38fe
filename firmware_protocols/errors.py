"""Errors of the wire-format layer.

::

    ProtocolError           root: a message cannot be encoded (a field out of range),
                            or a payload does not match its message type
    +-- PayloadLengthError  a payload's length does not fit its message type

Decoders never raise on input bytes: garbage is counted in their statistics and
skipped. ``ProtocolError`` is for the encoding side and for callers that parse a
single payload directly.
"""

from __future__ import annotations

__all__ = ["PayloadLengthError", "ProtocolError"]


class ProtocolError(Exception):
    """A message cannot be encoded, or a single payload cannot be parsed."""


class PayloadLengthError(ProtocolError):
    """A payload's length does not fit its message type (a device answers NAK BAD_LENGTH)."""
