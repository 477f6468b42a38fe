"""Golden byte vectors: the bytes of PROTOCOL.md section 2.8, frozen.

A change here is a change of the wire format, which firmware in the field depends on.
"""

from pathlib import Path

import pytest

from firmware_protocols import (
    Configure,
    Data,
    ErrorCode,
    Event,
    EventCode,
    FrameDecoder,
    Hello,
    Mode,
    Nak,
    Ping,
    Start,
    crc16,
    encode_frame,
)

GOLDEN = [
    (Hello(1), 0, "a5 5a 01 01 01 00 00 00 00 00 01 c2 1c"),
    (
        Configure(1000, 50, Mode.CON_CON, 0, 60.0, 180.0, 0.0, 90.0, 5),
        1,
        "a5 5a 01 02 12 00 01 00 00 00 e8 03 00 00 32 00 01 00 58 02 08 07 00 00 84 03 05 00 01 0f",
    ),
    (Start(), 2, "a5 5a 01 03 00 00 02 00 00 00 07 43"),
    (Ping(0x0102030405060708), 3, "a5 5a 01 05 08 00 03 00 00 00 08 07 06 05 04 03 02 01 5e 55"),
    (
        Data.from_samples(1_000_000, 0, [100, -100], [2000, 2001], [-30, 30], [0, 1]),
        7,
        "a5 5a 01 82 28 00 07 00 00 00 40 42 0f 00 00 00 00 00 00 00 00 00 02 00 64 00 00 00 9c ff ff ff "
        "d0 07 00 00 d1 07 00 00 e2 ff ff ff 1e 00 00 00 00 01 5e 77",
    ),
    (
        Event(1_500_000, 42, EventCode.LIMIT_REACHED, -1),
        8,
        "a5 5a 01 83 11 00 08 00 00 00 60 e3 16 00 00 00 00 00 2a 00 00 00 01 ff ff ff ff bc af",
    ),
    (Nak(2, 1, ErrorCode.UNSUPPORTED_RATE), 9, "a5 5a 01 85 06 00 09 00 00 00 02 01 00 00 00 04 c0 68"),
]


def test_crc_check_value():
    assert crc16(b"123456789") == 0x29B1


@pytest.mark.parametrize("message, sequence, hex_bytes", GOLDEN, ids=[type(g[0]).__name__ for g in GOLDEN])
def test_encoder_produces_golden_bytes(message, sequence, hex_bytes):
    assert encode_frame(message, sequence) == bytes.fromhex(hex_bytes)


@pytest.mark.parametrize("message, sequence, hex_bytes", GOLDEN, ids=[type(g[0]).__name__ for g in GOLDEN])
def test_decoder_reads_golden_bytes(message, sequence, hex_bytes):
    frames = FrameDecoder().feed(bytes.fromhex(hex_bytes))
    assert len(frames) == 1
    assert frames[0].sequence == sequence
    assert frames[0].message == message


def test_specification_lists_the_same_vectors():
    spec = (Path(__file__).resolve().parents[2] / "firmware_protocols" / "PROTOCOL.md").read_text()
    flat = " ".join(spec.split())
    for _, _, hex_bytes in GOLDEN:
        assert hex_bytes in flat
