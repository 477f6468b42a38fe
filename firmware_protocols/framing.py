"""Framing of binary protocol version 1: encoder and streaming decoder.

Frame layout (little-endian; see ``PROTOCOL.md``)::

    offset  size  field
    0       2     sync      0xA5 0x5A
    2       1     version   1
    3       1     type      message type code
    4       2     length    payload bytes N, 0..4096
    6       4     sequence  sender's frame counter, +1 per frame, wraps at 2**32
    10      N     payload
    10+N    2     crc       CRC-16/CCITT-FALSE over bytes 2 .. 10+N-1

The decoder is a pure object: feed it any chunks of bytes, it returns complete
frames. It never raises on input. After a CRC failure or an impossible header it
resumes scanning at the byte after the bad frame's sync marker, so a frame that
starts inside the damaged one is still found; it counts every discarded byte.

DATA frames, the stream's bulk, come out of :meth:`FrameDecoder.feed_runs` as
:class:`DataRun` s: consecutive DATA frames of one size kept as received, so a host
decodes their columns all at once (``daq.data_frames`` with numpy) instead of one
Python object per frame. :meth:`FrameDecoder.feed` gives every frame as a message.
"""

from __future__ import annotations

import struct
from binascii import crc_hqx
from dataclasses import dataclass
from typing import NamedTuple

from firmware_protocols.errors import PayloadLengthError, ProtocolError
from firmware_protocols.messages import (
    DATA_HEADER_SIZE,
    MAX_PAYLOAD,
    MAX_SAMPLES_PER_FRAME,
    MESSAGE_TYPES,
    PROTOCOL_VERSION,
    Data,
    Message,
)

__all__ = [
    "CRC_INIT",
    "DataRun",
    "DecoderStats",
    "Frame",
    "FrameDecoder",
    "FrameEncoder",
    "HEADER_SIZE",
    "MalformedMessage",
    "OVERHEAD",
    "SYNC",
    "UnknownMessage",
    "crc16",
    "encode_frame",
]

SYNC = b"\xa5\x5a"
HEADER_SIZE = 10
OVERHEAD = HEADER_SIZE + 2
CRC_INIT = 0xFFFF
_HEADER = struct.Struct("<2sBBHI")
_HEADER_AFTER_SYNC = struct.Struct("<BBHI")  # the decoder has found the sync already
_CRC = struct.Struct("<H")
_SEQ_MOD = 1 << 32
_DATA_TYPE = Data.TYPE
_SEQUENCE = struct.Struct("<I")
_SEQUENCE_OFFSET = 6
_DATA_COUNT_OFFSET = HEADER_SIZE + DATA_HEADER_SIZE - 2


def crc16(data: bytes | bytearray | memoryview) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection): ``crc16(b"123456789") == 0x29B1``."""
    return crc_hqx(data, CRC_INIT)


@dataclass(frozen=True, slots=True)
class UnknownMessage:
    """A well-formed frame (CRC correct) of a type this decoder does not know."""

    type_code: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class MalformedMessage:
    """A well-formed frame (CRC correct) whose payload does not fit its type.

    Returned rather than dropped so that a device can answer it with a NAK
    (``BAD_LENGTH`` when ``bad_length``, else ``BAD_VALUE``), as PROTOCOL.md requires.
    """

    type_code: int
    payload: bytes
    reason: str
    bad_length: bool


class Frame(NamedTuple):
    """One decoded frame: the sender's sequence number and its message."""

    sequence: int
    message: Message | UnknownMessage | MalformedMessage


@dataclass(frozen=True, slots=True, eq=False)
class DataRun:
    """Consecutive DATA frames of ``samples_per_frame`` samples each, exactly as received.

    ``raw`` is ``count`` whole frames back to back (header, payload, CRC; see the module
    docstring and PROTOCOL.md), each with a correct CRC and a well-formed payload: frame
    ``k`` starts at ``k * frame_size``. Writable, so arrays a host views on it are too.
    """

    raw: bytearray
    count: int
    samples_per_frame: int

    @property
    def frame_size(self) -> int:
        return len(self.raw) // self.count

    def frames(self) -> list[Frame]:
        """The run's frames as :class:`Frame` s of :class:`~firmware_protocols.messages.Data` messages."""
        size = self.frame_size
        raw = self.raw
        return [
            Frame(_SEQUENCE.unpack_from(raw, at + _SEQUENCE_OFFSET)[0], Data.unpack_from(raw, at + HEADER_SIZE, size - OVERHEAD))
            for at in range(0, len(raw), size)
        ]


def encode_frame(message: Message, sequence: int) -> bytes:
    """Encode one message as a complete frame with the given sequence number."""
    payload = message.pack()
    if len(payload) > MAX_PAYLOAD:
        raise ProtocolError(f"{type(message).__name__} payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    if not 0 <= sequence < _SEQ_MOD:
        raise ProtocolError(f"sequence {sequence} outside 0..2**32-1")
    body = _HEADER.pack(SYNC, PROTOCOL_VERSION, message.TYPE, len(payload), sequence) + payload
    return body + _CRC.pack(crc_hqx(memoryview(body)[2:], CRC_INIT))


class FrameEncoder:
    """Encode messages with a running sequence number (one encoder per sender)."""

    def __init__(self, first_sequence: int = 0) -> None:
        self.sequence = first_sequence % _SEQ_MOD

    def encode(self, message: Message) -> bytes:
        frame = encode_frame(message, self.sequence)
        self.sequence = (self.sequence + 1) % _SEQ_MOD
        return frame


@dataclass
class DecoderStats:
    """What a decoder has seen. ``bytes_discarded`` counts bytes that belonged to no good frame."""

    bytes_received: int = 0
    bytes_discarded: int = 0
    frames: int = 0
    crc_errors: int = 0
    bad_headers: int = 0
    malformed_payloads: int = 0
    unknown_types: int = 0
    unsupported_versions: int = 0


class FrameDecoder:
    """Streaming decoder: ``feed(chunk)`` returns the frames completed by that chunk.

    Parameters
    ----------
    max_payload
        Longest payload accepted, in bytes; a longer length field means corruption.

    Example
    -------
    >>> from firmware_protocols.messages import Ping
    >>> dec = FrameDecoder()
    >>> frames = dec.feed(encode_frame(Ping(123), 7))
    >>> frames[0].sequence, frames[0].message
    (7, Ping(host_time_us=123))
    """

    def __init__(self, *, max_payload: int = MAX_PAYLOAD) -> None:
        self.max_payload = max_payload
        self.stats = DecoderStats()
        self._buf = bytearray()

    @property
    def pending(self) -> int:
        """Bytes held back waiting for the rest of a frame."""
        return len(self._buf)

    def feed(self, chunk: bytes | bytearray | memoryview) -> list[Frame]:
        """Decode ``chunk``; return the frames it completed, each with its message."""
        out: list[Frame] = []
        for item in self.feed_runs(chunk):
            if isinstance(item, DataRun):
                out += item.frames()
            else:
                out.append(item)
        return out

    def feed_runs(self, chunk: bytes | bytearray | memoryview) -> list[Frame | DataRun]:
        """Decode ``chunk`` as :meth:`feed` does, but hand out consecutive DATA frames of one size as a :class:`DataRun`.

        The order of frames is kept: a run stands where its frames were.
        """
        stats = self.stats
        stats.bytes_received += len(chunk)
        buf = self._buf
        buf += chunk
        out: list[Frame | DataRun] = []
        pos = 0
        end = len(buf)
        unpack_header = _HEADER_AFTER_SYNC.unpack_from
        max_payload = self.max_payload
        types = MESSAGE_TYPES
        new_frame = tuple.__new__
        crc, crc_init = crc_hqx, CRC_INIT
        header_size = HEADER_SIZE
        version_1 = PROTOCOL_VERSION
        data_type = _DATA_TYPE
        count_at = _DATA_COUNT_OFFSET  # DATA's sample count (u16) from the frame's start
        frames = 0
        while True:
            start = buf.find(SYNC, pos)
            if start < 0:
                # Keep a trailing 0xA5: it may be the first half of the next sync.
                keep_from = end - 1 if end > pos and buf[end - 1] == 0xA5 else end
                stats.bytes_discarded += keep_from - pos
                pos = keep_from
                break
            if start > pos:
                stats.bytes_discarded += start - pos
                pos = start
            if end - start < header_size:
                break
            version, type_code, length, sequence = unpack_header(buf, start + 2)
            if length > max_payload:
                stats.bad_headers += 1
                stats.bytes_discarded += 1
                pos = start + 1
                continue
            frame_end = start + header_size + length + 2
            if frame_end > end:
                break
            if crc(buf[start + 2 : frame_end - 2], crc_init) != buf[frame_end - 2] | (buf[frame_end - 1] << 8):
                stats.crc_errors += 1
                stats.bytes_discarded += 1
                pos = start + 1
                continue
            pos = frame_end
            frames += 1
            if version != version_1:
                stats.unsupported_versions += 1
                continue
            if type_code == data_type:
                n, rest = divmod(length - DATA_HEADER_SIZE, 13)
                if not rest and 1 <= n <= MAX_SAMPLES_PER_FRAME and buf[start + count_at] | (buf[start + count_at + 1] << 8) == n:
                    # The hot path: this frame and the ones after it with the same header bytes (sync, version,
                    # type, length), sample count and a correct CRC form one run, copied out once.
                    size = frame_end - start
                    head = buf[start : start + 6]
                    while (
                        pos + size <= end
                        and buf[pos : pos + 6] == head
                        and buf[pos + count_at] | (buf[pos + count_at + 1] << 8) == n
                        and crc(buf[pos + 2 : pos + size - 2], crc_init) == buf[pos + size - 2] | (buf[pos + size - 1] << 8)
                    ):
                        pos += size
                    count = (pos - start) // size
                    frames += count - 1
                    out.append(DataRun(buf[start:pos], count, n))
                    continue
            message: Message | UnknownMessage | MalformedMessage
            payload = bytes(buf[start + header_size : frame_end - 2])
            cls = types.get(type_code)
            if cls is None:
                stats.unknown_types += 1
                out.append(Frame(sequence, UnknownMessage(type_code, payload)))
                continue
            try:
                message = cls.unpack(payload)
            except ProtocolError as err:
                stats.malformed_payloads += 1
                message = MalformedMessage(type_code, payload, str(err), isinstance(err, PayloadLengthError))
            out.append(new_frame(Frame, (sequence, message)))
        stats.frames += frames
        del buf[:pos]
        return out

    def flush(self) -> int:
        """Drop held-back bytes (e.g. on reconnect), count them as discarded, return how many."""
        n = len(self._buf)
        self.stats.bytes_discarded += n
        self._buf.clear()
        return n

