"""What happened during a recording besides samples, in one shape and one wording for every sink.

An :class:`AcquisitionEvent` is a gap, an overflow, a disconnection, a reconnection, a
device event (limit, marker, set complete), the end of the stream or a failed STOP. The
recording CSV writes it as a ``# ...`` note at its place (:func:`event_note`), the service
stores its fields as a ``trial_events`` row and writes the same note when it exports the
trial, so both files of one run say the same thing the same way::

    # gap: 12 samples lost after sequence 4711 (counted from the sample index; sequence jump)
    # gap: samples lost after sequence 9001, count unknown (2 frames lost before STOP's ACK)
    # overflow: 300 samples dropped from sequence 5000 (the recorder fell behind)
    # disconnected after sequence 9000: read failed: [Errno 5] Input/output error
    # reconnected after 3 attempts (streaming)
    # event: SET_COMPLETE 5 at sequence 29999
"""

from __future__ import annotations

from dataclasses import dataclass

from daq.stream import DeviceEvent, Disconnected, Gap, Overflow, Reconnected, StreamEnded

__all__ = ["AcquisitionEvent", "event_note", "event_of"]

#: Kinds that are not device events (those are the device's event name in lower case, e.g. ``set_complete``).
GAP, GAP_UNKNOWN, OVERFLOW = "gap", "lost frames", "overflow"
DISCONNECTED, RECONNECTED, STREAM_ENDED, STOP_FAILED = "disconnected", "reconnected", "stream ended", "stop failed"


@dataclass(frozen=True)
class AcquisitionEvent:
    """One event of a recording.

    Attributes
    ----------
    kind
        ``gap``, ``lost frames`` (samples lost at the very end, count unknown), ``overflow``,
        ``disconnected``, ``reconnected``, ``stream ended``, ``stop failed``, or a device event's
        name in lower case (``set_complete``, ``limit_reached``, ``marker_host``, ...).
    sequence
        The sample index it belongs to (a gap: the last sample before it), or ``None``.
    time_s
        Recording time of the newest sample before it, s (``None`` before the first sample).
    lost_samples
        Samples lost (gaps and overflows), else 0.
    detail
        The rest of what is known: how a gap was counted and why, a reason, a value.
    """

    kind: str
    sequence: int | None
    time_s: float | None
    lost_samples: int
    detail: str


def event_of(
    item: Gap | Overflow | Disconnected | Reconnected | DeviceEvent | StreamEnded, time_s: float | None, index0: int = 0
) -> AcquisitionEvent:
    """The event a driver's stream item stands for, at recording time ``time_s`` (s), its sample numbered
    from the recording's first (the driver's index ``index0`` is sequence 0)."""
    if isinstance(item, Gap):
        if not item.count_known:
            return AcquisitionEvent(GAP_UNKNOWN, item.after_index - index0, time_s, 0, item.reason)
        how = "derived from time" if item.derived_from_time else "counted from the sample index"
        return AcquisitionEvent(GAP, item.after_index - index0, time_s, item.missing, f"{how}; {item.reason}")
    if isinstance(item, Overflow):
        first = item.first_index - index0 if item.first_index >= 0 else None
        return AcquisitionEvent(OVERFLOW, first, time_s, item.samples, "the recorder fell behind the device")
    if isinstance(item, Disconnected):
        return AcquisitionEvent(DISCONNECTED, item.after_index - index0, time_s, 0, item.reason)
    if isinstance(item, Reconnected):
        return AcquisitionEvent(RECONNECTED, None, time_s, 0, f"after {item.attempts} attempts ({item.resumed})")
    if isinstance(item, DeviceEvent):
        return AcquisitionEvent(item.name.lower(), item.index - index0, time_s, 0, str(item.value))
    return AcquisitionEvent(STREAM_ENDED, None, time_s, 0, item.reason)


def event_note(kind: str, sequence: int | None, lost_samples: int, detail: str) -> str:
    """The text of an event's ``# ...`` note line (one line, the same for every sink)."""
    at = f" after sequence {sequence}" if sequence is not None else ""
    if kind == GAP:
        text = f"gap: {lost_samples} samples lost{at} ({detail})"
    elif kind == GAP_UNKNOWN:
        text = f"gap: samples lost{at}, count unknown ({detail})"
    elif kind == OVERFLOW:
        text = f"overflow: {lost_samples} samples dropped from sequence {sequence} ({detail})"
    elif kind == DISCONNECTED:
        text = f"disconnected{at}: {detail}"
    elif kind == RECONNECTED:
        text = f"reconnected {detail}"
    elif kind in (STREAM_ENDED, STOP_FAILED):
        text = f"{kind}: {detail}"
    else:
        text = f"event: {kind.upper()} {detail} at sequence {sequence}"
    return " ".join(text.split())
