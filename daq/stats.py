"""What an acquisition has seen: counts of samples, damage, losses and reconnects."""

from __future__ import annotations

from dataclasses import dataclass

from daq.stream import Gap
from daq.timing import ClockSegment

__all__ = ["AcquisitionStats"]


@dataclass(frozen=True)
class AcquisitionStats:
    """A snapshot of a driver's counters (``Driver.stats()``).

    Attributes
    ----------
    samples
        Samples received and handed to subscribers.
    frames
        Good frames (binary) or lines (ASCII) decoded, of any type.
    bytes_received, bytes_discarded
        Bytes read from the port, and bytes that belonged to no good frame or line.
    crc_errors, bad_headers, malformed
        Frames failing their CRC, impossible headers, and frames or lines whose
        content breaks the protocol (a DATA frame of 0 samples, a count outside the
        channel's ADC range, an ASCII value beyond 32 bits, a bad line): dropped and
        counted, and the samples they held show as a gap.
    frames_lost
        Device frames of any type that never arrived, from the frame sequence (binary).
    frames_ignored
        DATA frames that arrived while no stream was started (left over from an
        earlier session), dropped on purpose.
    frames_repeated
        Frames (binary) or lines (ASCII) the device sent twice: the repeat is not stored again.
    gaps
        Every gap in order: position (last good index), exact missing count, whether
        the count was derived from time.
    lost_samples
        Sum of the gaps' missing counts.
    loss_detection
        How loss is detected: ``"sample index"`` (binary), ``"line counter"`` (ASCII
        with counter), ``"none"`` (ASCII without counter: loss cannot be seen).
    overflow_drops
        Samples dropped because a subscriber was too slow (summed over subscribers).
    disconnects, reconnects
        Times the link failed, and times the same device was found again.
    effective_rate_hz
        Samples received per second of host time between the first and last sample
        (``nan`` with fewer than two samples).
    drift_ppm
        The newest clock segment's fitted drift of the device clock against the host's,
        ppm (``None`` until the fit spans enough time).
    segments
        The clock fit of every segment.
    """

    samples: int
    frames: int
    bytes_received: int
    bytes_discarded: int
    crc_errors: int
    bad_headers: int
    malformed: int
    frames_lost: int
    frames_ignored: int
    frames_repeated: int
    gaps: tuple[Gap, ...]
    lost_samples: int
    loss_detection: str
    overflow_drops: int
    disconnects: int
    reconnects: int
    effective_rate_hz: float
    drift_ppm: float | None
    segments: tuple[ClockSegment, ...]
