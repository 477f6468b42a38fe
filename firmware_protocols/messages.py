"""Messages of binary protocol version 1 and their payload layouts.

Each message is a frozen dataclass with a ``TYPE`` code, ``pack()`` (payload
bytes) and ``unpack(payload)`` (raises :class:`ProtocolError` when the payload
does not fit the type). Framing (sync, length, sequence, CRC) is in
:mod:`firmware_protocols.framing`. All integers are little-endian. The layouts are
specified field by field in ``PROTOCOL.md`` beside this file; keep the two in step.
"""

from __future__ import annotations

import struct
import sys
from array import array
from dataclasses import dataclass, field
from enum import IntEnum, IntFlag
from typing import ClassVar

from firmware_protocols.errors import PayloadLengthError, ProtocolError

__all__ = [
    "Ack",
    "ChannelInfo",
    "ChannelKind",
    "Configure",
    "DATA_HEADER_SIZE",
    "Data",
    "DeviceMessage",
    "ErrorCode",
    "Event",
    "EventCode",
    "Hello",
    "HostMessage",
    "Info",
    "Marker",
    "MESSAGE_TYPES",
    "Message",
    "Mode",
    "Nak",
    "Ping",
    "Pong",
    "SampleStatus",
    "Start",
    "Stop",
    "Capability",
    "MAX_SAMPLES_PER_FRAME",
    "PROTOCOL_VERSION",
    "MAX_PAYLOAD",
]

PROTOCOL_VERSION = 1
#: Largest payload a version-1 frame may carry, in bytes. A longer length field is corruption.
MAX_PAYLOAD = 4096
_DATA_HEADER = struct.Struct("<QIH")  # timestamp_us, first_sample, count
#: Bytes of DATA's payload before its columns (timestamp_us, first_sample, count).
DATA_HEADER_SIZE = _DATA_HEADER.size
#: Samples that fit one DATA frame: 14-byte header + 13 bytes per sample.
MAX_SAMPLES_PER_FRAME = (MAX_PAYLOAD - DATA_HEADER_SIZE) // 13
_BIG_ENDIAN_HOST = sys.byteorder == "big"


class Mode(IntEnum):
    """Test mode in CONFIGURE. ``SAMPLING`` is for boards that only digitise."""

    SAMPLING = 0
    CON_CON = 1
    CON_ECC = 2
    ECC_CON = 3
    ECC_ECC = 4
    ISOMETRIC = 5
    PASSIVE = 6


class ChannelKind(IntEnum):
    TORQUE = 1
    POSITION = 2
    VELOCITY = 3


class SampleStatus(IntFlag):
    """Per-sample status bits in DATA."""

    AT_RANGE_LIMIT = 0x01
    SAFETY_STOP = 0x02
    MARKER = 0x04
    OVERRANGE = 0x08


class EventCode(IntEnum):
    LIMIT_REACHED = 1  #: value: +1 at the + end of the range, -1 at the - end
    SAFETY_STOP = 2  #: value: 0
    MARKER_BUTTON = 3  #: value: button number
    MARKER_HOST = 4  #: value: the marker id from the host's MARKER
    SET_COMPLETE = 5  #: value: repetitions done; the device stops streaming after it


class ErrorCode(IntEnum):
    """Reasons in a NAK."""

    UNKNOWN_TYPE = 1
    BAD_LENGTH = 2
    BAD_VALUE = 3
    UNSUPPORTED_RATE = 4
    NOT_ALLOWED_NOW = 5
    UNSUPPORTED_VERSION = 6
    NOT_SUPPORTED = 7
    HARDWARE_FAULT = 8


class Capability(IntFlag):
    """Bits of INFO's ``capabilities``."""

    DRIVES_MACHINE = 0x01  #: accepts mode, velocities and range in CONFIGURE
    MARKER_BUTTON = 0x02
    SAFETY_INPUT = 0x04


def _require(cond: bool, message: str) -> None:
    if not cond:
        raise ProtocolError(message)


def _unpack(st: struct.Struct, payload: bytes, name: str) -> tuple:  # type: ignore[type-arg]
    if len(payload) != st.size:
        raise PayloadLengthError(f"{name} payload is {len(payload)} bytes, expected {st.size}")
    return st.unpack(payload)


def _pack(st: struct.Struct, name: str, *values: int) -> bytes:
    try:
        return st.pack(*values)
    except struct.error as err:
        raise ProtocolError(f"{name}: field out of range: {err}") from err


# --- host to device -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hello:
    """Ask for the device's identity; the device answers INFO (or NAK UNSUPPORTED_VERSION)."""

    TYPE: ClassVar[int] = 0x01
    _S: ClassVar[struct.Struct] = struct.Struct("<B")
    max_protocol_version: int = PROTOCOL_VERSION

    def pack(self) -> bytes:
        return _pack(self._S, "HELLO", self.max_protocol_version)

    @classmethod
    def unpack(cls, payload: bytes) -> Hello:
        return cls(*_unpack(cls._S, payload, "HELLO"))


@dataclass(frozen=True, slots=True)
class Configure:
    """Set up the next acquisition. Answered ACK, or NAK with the reason.

    Velocities are in 0.1 deg/s on the wire and range limits in 0.1 deg; the
    fields here are in deg/s and deg. ``samples_per_frame`` 0 lets the device choose.
    ``acting_direction``: for con/ecc and ecc/con, +1 for the group acting toward
    +position, -1 toward -position; 0 otherwise. ``repetitions`` 0 means until STOP.
    """

    TYPE: ClassVar[int] = 0x02
    _S: ClassVar[struct.Struct] = struct.Struct("<IHBbHHhhH")
    sample_rate_hz: int
    samples_per_frame: int = 0
    mode: Mode = Mode.SAMPLING
    acting_direction: int = 0
    velocity_plus_dps: float = 0.0
    velocity_minus_dps: float = 0.0
    rom_min_deg: float = 0.0
    rom_max_deg: float = 0.0
    repetitions: int = 0

    def pack(self) -> bytes:
        return _pack(
            self._S,
            "CONFIGURE",
            self.sample_rate_hz,
            self.samples_per_frame,
            int(self.mode),
            self.acting_direction,
            round(self.velocity_plus_dps * 10),
            round(self.velocity_minus_dps * 10),
            round(self.rom_min_deg * 10),
            round(self.rom_max_deg * 10),
            self.repetitions,
        )

    @classmethod
    def unpack(cls, payload: bytes) -> Configure:
        rate, spf, mode, acting, vp, vm, lo, hi, reps = _unpack(cls._S, payload, "CONFIGURE")
        try:
            mode_ = Mode(mode)
        except ValueError as err:
            raise ProtocolError(f"CONFIGURE: unknown mode {mode}") from err
        return cls(rate, spf, mode_, acting, vp / 10, vm / 10, lo / 10, hi / 10, reps)


@dataclass(frozen=True, slots=True)
class Start:
    """Start streaming DATA; the sample index restarts at 0. Answered ACK."""

    TYPE: ClassVar[int] = 0x03

    def pack(self) -> bytes:
        return b""

    @classmethod
    def unpack(cls, payload: bytes) -> Start:
        if payload:
            raise PayloadLengthError(f"START payload must be empty, got {len(payload)} bytes")
        return cls()


@dataclass(frozen=True, slots=True)
class Stop:
    """Stop streaming. Answered ACK after the last DATA frame."""

    TYPE: ClassVar[int] = 0x04

    def pack(self) -> bytes:
        return b""

    @classmethod
    def unpack(cls, payload: bytes) -> Stop:
        if payload:
            raise PayloadLengthError(f"STOP payload must be empty, got {len(payload)} bytes")
        return cls()


@dataclass(frozen=True, slots=True)
class Ping:
    """Timing ping carrying the host's clock (microseconds); answered PONG."""

    TYPE: ClassVar[int] = 0x05
    _S: ClassVar[struct.Struct] = struct.Struct("<Q")
    host_time_us: int

    def pack(self) -> bytes:
        return _pack(self._S, "PING", self.host_time_us)

    @classmethod
    def unpack(cls, payload: bytes) -> Ping:
        return cls(*_unpack(cls._S, payload, "PING"))


@dataclass(frozen=True, slots=True)
class Marker:
    """Insert a marker at the current sample; answered ACK and an EVENT MARKER_HOST."""

    TYPE: ClassVar[int] = 0x06
    _S: ClassVar[struct.Struct] = struct.Struct("<H")
    marker_id: int

    def pack(self) -> bytes:
        return _pack(self._S, "MARKER", self.marker_id)

    @classmethod
    def unpack(cls, payload: bytes) -> Marker:
        return cls(*_unpack(cls._S, payload, "MARKER"))


# --- device to host -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChannelInfo:
    kind: ChannelKind
    adc_bits: int


def _pack_str(text: str, name: str) -> bytes:
    raw = text.encode("utf-8")
    _require(len(raw) <= 255, f"INFO: {name} longer than 255 bytes")
    return bytes([len(raw)]) + raw


@dataclass(frozen=True, slots=True)
class Info:
    """The device's identity, answer to HELLO."""

    TYPE: ClassVar[int] = 0x81
    protocol_version: int
    model: str
    serial_number: str
    firmware_version: str
    channels: tuple[ChannelInfo, ...]
    sample_rates_hz: tuple[int, ...]
    max_samples_per_frame: int
    capabilities: Capability = Capability(0)

    def pack(self) -> bytes:
        try:
            out = bytearray(struct.pack("<BBH", self.protocol_version, int(self.capabilities), self.max_samples_per_frame))
            out.append(len(self.channels))
            for ch in self.channels:
                out += struct.pack("<BB", int(ch.kind), ch.adc_bits)
            out.append(len(self.sample_rates_hz))
            out += struct.pack(f"<{len(self.sample_rates_hz)}I", *self.sample_rates_hz)
        except struct.error as err:
            raise ProtocolError(f"INFO: field out of range: {err}") from err
        for name in ("model", "serial_number", "firmware_version"):
            out += _pack_str(getattr(self, name), name)
        return bytes(out)

    @classmethod
    def unpack(cls, payload: bytes) -> Info:
        try:
            version, caps, max_spf, n_ch = struct.unpack_from("<BBHB", payload, 0)
            pos = 5
            channels = []
            for _ in range(n_ch):
                kind, bits = struct.unpack_from("<BB", payload, pos)
                channels.append(ChannelInfo(ChannelKind(kind), bits))
                pos += 2
            n_rates = payload[pos]
            rates = struct.unpack_from(f"<{n_rates}I", payload, pos + 1)
            pos += 1 + 4 * n_rates
            strings = []
            for _ in range(3):
                n = payload[pos]
                raw = payload[pos + 1 : pos + 1 + n]
                _require(len(raw) == n, "INFO: string runs past the payload")
                strings.append(raw.decode("utf-8"))
                pos += 1 + n
        except (struct.error, IndexError, ValueError) as err:
            raise ProtocolError(f"INFO payload malformed: {err}") from err
        _require(pos == len(payload), f"INFO payload has {len(payload) - pos} trailing bytes")
        return cls(version, strings[0], strings[1], strings[2], tuple(channels), rates, max_spf, Capability(caps))


@dataclass(slots=True, eq=False)
class Data:
    """A batch of samples in raw ADC counts (treat as read-only).

    Columns are planar on the wire (all torques, then positions, then velocities
    as int32, then one status byte per sample) so both ends copy them as blocks.
    ``timestamp_us`` is the device clock at the first sample; sample ``k`` of the
    batch was taken at ``timestamp_us + k * 1e6 / sample_rate_hz``.
    ``first_sample`` counts samples since START (wrapping at 2**32), so the host
    knows exactly how many samples a lost frame held.

    Not frozen, unlike the other messages: ``FrameDecoder.feed`` makes one per DATA
    frame, and a frozen dataclass's ``__init__`` costs as much as the CRC of a small
    frame. (A host streaming DATA takes them as runs, ``FrameDecoder.feed_runs``.)
    """

    TYPE: ClassVar[int] = 0x82
    timestamp_us: int
    first_sample: int
    torque: array  # type: ignore[type-arg]
    position: array  # type: ignore[type-arg]
    velocity: array  # type: ignore[type-arg]
    status: bytes = field(default=b"")

    def __len__(self) -> int:
        return len(self.torque)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Data):
            return NotImplemented
        return (
            self.timestamp_us == other.timestamp_us
            and self.first_sample == other.first_sample
            and self.torque == other.torque
            and self.position == other.position
            and self.velocity == other.velocity
            and bytes(self.status) == bytes(other.status)
        )

    @classmethod
    def from_samples(
        cls,
        timestamp_us: int,
        first_sample: int,
        torque: list[int] | array,  # type: ignore[type-arg]
        position: list[int] | array,  # type: ignore[type-arg]
        velocity: list[int] | array,  # type: ignore[type-arg]
        status: bytes | list[int] | None = None,
    ) -> Data:
        n = len(torque)
        _require(len(position) == n and len(velocity) == n, "DATA columns differ in length")
        status_b = bytes(n) if status is None else bytes(status)
        _require(len(status_b) == n, "DATA status column differs in length")
        try:
            cols = [array("i", c) for c in (torque, position, velocity)]
        except OverflowError as err:
            raise ProtocolError(f"DATA: a count does not fit int32: {err}") from err
        return cls(timestamp_us, first_sample, cols[0], cols[1], cols[2], status_b)

    def pack(self) -> bytes:
        n = len(self.torque)
        _require(1 <= n <= MAX_SAMPLES_PER_FRAME, f"DATA: {n} samples, 1 to {MAX_SAMPLES_PER_FRAME} fit a frame")
        head = _pack(_DATA_HEADER, "DATA", self.timestamp_us, self.first_sample, n)
        cols = [self.torque, self.position, self.velocity]
        if _BIG_ENDIAN_HOST:  # pragma: no cover - the wire is little-endian
            cols = [array("i", c) for c in cols]
            for c in cols:
                c.byteswap()
        return b"".join([head, cols[0].tobytes(), cols[1].tobytes(), cols[2].tobytes(), bytes(self.status)])

    @classmethod
    def unpack(cls, payload: bytes) -> Data:
        return cls.unpack_from(payload, 0, len(payload))

    @classmethod
    def unpack_from(cls, buffer: bytes | bytearray, offset: int, length: int) -> Data:
        """Parse a DATA payload of ``length`` bytes at ``offset`` of ``buffer`` without copying it first."""
        if length < 14:
            raise PayloadLengthError(f"DATA payload is {length} bytes, shorter than its header")
        ts, first, n = _DATA_HEADER.unpack_from(buffer, offset)
        if not 1 <= n <= MAX_SAMPLES_PER_FRAME:
            raise ProtocolError(f"DATA: count {n} outside 1..{MAX_SAMPLES_PER_FRAME}")
        if length != 14 + 13 * n:
            raise PayloadLengthError(f"DATA payload is {length} bytes, {n} samples need {14 + 13 * n}")
        a = offset + 14
        d = a + 12 * n
        counts = array("i", buffer[a:d])  # one copy, then three slices: cheaper than three copies
        if _BIG_ENDIAN_HOST:  # pragma: no cover
            counts.byteswap()
        return cls(ts, first, counts[:n], counts[n : 2 * n], counts[2 * n :], bytes(buffer[d : d + n]))


@dataclass(frozen=True, slots=True)
class Event:
    """Something happened at a sample: a range limit, a safety stop, a marker, the set's end."""

    TYPE: ClassVar[int] = 0x83
    _S: ClassVar[struct.Struct] = struct.Struct("<QIBi")
    timestamp_us: int
    sample_index: int
    code: EventCode
    value: int = 0

    def pack(self) -> bytes:
        return _pack(self._S, "EVENT", self.timestamp_us, self.sample_index, int(self.code), self.value)

    @classmethod
    def unpack(cls, payload: bytes) -> Event:
        ts, idx, code, value = _unpack(cls._S, payload, "EVENT")
        try:
            return cls(ts, idx, EventCode(code), value)
        except ValueError as err:
            raise ProtocolError(f"EVENT: unknown code {code}") from err


@dataclass(frozen=True, slots=True)
class Ack:
    """A host command was carried out: names its type and sequence number."""

    TYPE: ClassVar[int] = 0x84
    _S: ClassVar[struct.Struct] = struct.Struct("<BI")
    acked_type: int
    acked_sequence: int

    def pack(self) -> bytes:
        return _pack(self._S, "ACK", self.acked_type, self.acked_sequence)

    @classmethod
    def unpack(cls, payload: bytes) -> Ack:
        return cls(*_unpack(cls._S, payload, "ACK"))


@dataclass(frozen=True, slots=True)
class Nak:
    """A host command was refused, with the reason."""

    TYPE: ClassVar[int] = 0x85
    _S: ClassVar[struct.Struct] = struct.Struct("<BIB")
    refused_type: int
    refused_sequence: int
    error: ErrorCode

    def pack(self) -> bytes:
        return _pack(self._S, "NAK", self.refused_type, self.refused_sequence, int(self.error))

    @classmethod
    def unpack(cls, payload: bytes) -> Nak:
        t, seq, err = _unpack(cls._S, payload, "NAK")
        try:
            return cls(t, seq, ErrorCode(err))
        except ValueError as exc:
            raise ProtocolError(f"NAK: unknown error code {err}") from exc


@dataclass(frozen=True, slots=True)
class Pong:
    """Answer to PING: the host's time echoed, and the device clock when the PING arrived."""

    TYPE: ClassVar[int] = 0x86
    _S: ClassVar[struct.Struct] = struct.Struct("<QQ")
    host_time_us: int
    device_time_us: int

    def pack(self) -> bytes:
        return _pack(self._S, "PONG", self.host_time_us, self.device_time_us)

    @classmethod
    def unpack(cls, payload: bytes) -> Pong:
        return cls(*_unpack(cls._S, payload, "PONG"))


HostMessage = Hello | Configure | Start | Stop | Ping | Marker
DeviceMessage = Info | Data | Event | Ack | Nak | Pong
Message = HostMessage | DeviceMessage

#: type code -> message class, for every message of version 1.
MESSAGE_TYPES: dict[int, type[Message]] = {
    cls.TYPE: cls for cls in (Hello, Configure, Start, Stop, Ping, Marker, Info, Data, Event, Ack, Nak, Pong)
}
