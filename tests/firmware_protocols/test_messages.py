"""Every message round-trips through its payload and through a frame; bad payloads raise ProtocolError."""

import pytest

from firmware_protocols import (
    MAX_SAMPLES_PER_FRAME,
    MESSAGE_TYPES,
    Ack,
    Capability,
    ChannelInfo,
    ChannelKind,
    Configure,
    Data,
    ErrorCode,
    Event,
    EventCode,
    FrameDecoder,
    FrameEncoder,
    Hello,
    Info,
    MalformedMessage,
    Marker,
    Mode,
    Nak,
    Ping,
    Pong,
    ProtocolError,
    Start,
    Stop,
    UnknownMessage,
    encode_frame,
)

INFO = Info(
    1,
    "isokin-sim",
    "SIM-0001",
    "1.0.0",
    (ChannelInfo(ChannelKind.TORQUE, 16), ChannelInfo(ChannelKind.POSITION, 16), ChannelInfo(ChannelKind.VELOCITY, 16)),
    (100, 500, 1000, 2000),
    MAX_SAMPLES_PER_FRAME,
    Capability.DRIVES_MACHINE | Capability.MARKER_BUTTON,
)

ALL_MESSAGES = [
    Hello(1),
    Configure(2000, 100, Mode.ECC_ECC, 0, 30.5, 240.0, -10.0, 100.0, 0),
    Configure(1000, 0, Mode.CON_ECC, -1, 60.0, 60.0, 0.0, 90.0, 25),
    Start(),
    Stop(),
    Ping(2**64 - 1),
    Marker(65535),
    INFO,
    Data.from_samples(2**63, 2**32 - 1, [-(2**31)], [2**31 - 1], [0], [0xFF]),
    Data.from_samples(5, 10, list(range(MAX_SAMPLES_PER_FRAME)), [1] * MAX_SAMPLES_PER_FRAME,
                      [-1] * MAX_SAMPLES_PER_FRAME),
    Event(0, 0, EventCode.SET_COMPLETE, 5),
    Ack(0x03, 12),
    Nak(0x7F, 3, ErrorCode.UNKNOWN_TYPE),
    Pong(1, 2),
]


def test_every_message_type_is_covered():
    assert {type(m) for m in ALL_MESSAGES} == set(MESSAGE_TYPES.values())


@pytest.mark.parametrize("message", ALL_MESSAGES, ids=lambda m: type(m).__name__)
def test_payload_round_trip(message):
    assert type(message).unpack(message.pack()) == message


@pytest.mark.parametrize("message", ALL_MESSAGES, ids=lambda m: type(m).__name__)
def test_frame_round_trip(message):
    frames = FrameDecoder().feed(encode_frame(message, 99))
    assert [(f.sequence, f.message) for f in frames] == [(99, message)]


def test_host_and_device_types_are_in_their_ranges():
    for code, cls in MESSAGE_TYPES.items():
        device_side = cls in (Info, Data, Event, Ack, Nak, Pong)
        assert (0x80 <= code <= 0xBF) if device_side else (0x01 <= code <= 0x3F)


def test_configure_scales_velocity_and_range_to_tenths():
    payload = Configure(1000, 0, Mode.CON_CON, 0, 60.04, 180.06, -5.5, 90.0).pack()
    back = Configure.unpack(payload)
    assert (back.velocity_plus_dps, back.velocity_minus_dps, back.rom_min_deg, back.rom_max_deg) == (60.0, 180.1, -5.5, 90.0)


def test_data_sample_timing_and_length():
    data = Data.from_samples(1000, 7, [1, 2, 3], [4, 5, 6], [7, 8, 9])
    assert len(data) == 3 and bytes(data.status) == b"\0\0\0"
    assert len(data.pack()) == 14 + 13 * 3


@pytest.mark.parametrize(
    "bad, match",
    [
        (lambda: Data.from_samples(0, 0, [2**31], [0], [0]).pack(), "int32"),
        (lambda: Data.from_samples(0, 0, [0] * 315, [0] * 315, [0] * 315).pack(), "1 to 314"),
        (lambda: Data.from_samples(0, 0, [], [], []).pack(), "1 to 314"),
        (lambda: Data.from_samples(0, 0, [0, 1], [0], [0]), "differ in length"),
        (lambda: Configure(2**32, 0).pack(), "out of range"),
        (lambda: Configure(1000, 0, Mode.CON_CON, 0, 7000.0).pack(), "out of range"),
        (lambda: Marker(-1).pack(), "out of range"),
        (lambda: Info(1, "x" * 256, "", "", (), (), 1).pack(), "longer than 255"),
        (lambda: encode_frame(Ping(1), 2**32), "sequence"),
    ],
)
def test_unencodable_values_raise_protocol_error(bad, match):
    with pytest.raises(ProtocolError, match=match):
        bad()


@pytest.mark.parametrize(
    "cls, payload",
    [
        (Hello, b""),
        (Configure, b"\0" * 17),
        (Configure, b"\xe8\x03\0\0\0\0\x09" + b"\0" * 11),  # mode 9 does not exist
        (Start, b"\0"),
        (Data, b"\0" * 13),
        (Data, b"\0" * 12 + b"\x02\x00" + b"\0" * 13),  # says 2 samples, holds 1
        (Event, b"\0" * 12 + b"\x63" + b"\0" * 4),  # event code 99
        (Nak, b"\0\0\0\0\0\x63"),
        (Info, b"\x01\x00\x01\x00\x01\x01"),  # channel list runs past the end
    ],
)
def test_malformed_payload_raises_protocol_error(cls, payload):
    with pytest.raises(ProtocolError):
        cls.unpack(payload)


def test_encoder_numbers_frames_and_wraps():
    enc = FrameEncoder(first_sequence=2**32 - 1)
    frames = FrameDecoder().feed(enc.encode(Start()) + enc.encode(Stop()))
    assert [f.sequence for f in frames] == [2**32 - 1, 0]


def test_unknown_type_and_malformed_payload_are_returned_and_counted_not_raised():
    from firmware_protocols.framing import HEADER_SIZE

    class Odd:
        TYPE = 0x7E

        def pack(self):
            return b"hi"

    class BadStart:
        TYPE = Start.TYPE

        def pack(self):
            return b"\x01"

    dec = FrameDecoder()
    frames = dec.feed(encode_frame(Odd(), 1) + encode_frame(BadStart(), 2) + encode_frame(Stop(), 3))
    assert frames[0].message == UnknownMessage(0x7E, b"hi")
    assert frames[1].message == MalformedMessage(Start.TYPE, b"\x01", "START payload must be empty, got 1 bytes", True)
    assert frames[2].message == Stop()
    assert (dec.stats.unknown_types, dec.stats.malformed_payloads, dec.stats.frames) == (1, 1, 3)
    assert HEADER_SIZE == 10


def test_malformed_payload_says_whether_its_length_or_a_value_is_wrong():
    class BadMode:
        TYPE = Configure.TYPE

        def pack(self):
            return Configure(1000).pack()[:6] + b"\x09" + Configure(1000).pack()[7:]

    frames = FrameDecoder().feed(encode_frame(BadMode(), 1) + encode_frame(Ping(1), 2)[:-3] + b"\0\0\0")
    (frame,) = frames
    assert isinstance(frame.message, MalformedMessage)
    assert frame.message.type_code == Configure.TYPE and not frame.message.bad_length
    assert "unknown mode 9" in frame.message.reason
