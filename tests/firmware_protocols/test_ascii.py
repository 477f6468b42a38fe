"""The ASCII line protocol of existing lab boards: lines in, samples out, nothing raised."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_protocols import (
    AsciiComment,
    AsciiDecoder,
    AsciiSample,
    ProtocolError,
    encode_command,
    encode_sample,
    parse_command,
)


def test_golden_lines():
    assert encode_sample(512, -3, 1023) == b"512,-3,1023\n"
    assert encode_sample(512, -3, 1023, counter=2**32 + 5) == b"5,512,-3,1023\n"
    assert encode_command("rate", 1000) == b"rate 1000\n"
    assert encode_command("start") == b"start\n"


def test_three_and_four_field_lines_and_comments():
    dec = AsciiDecoder()
    out = dec.feed(b"# board v2\r\n1,2,3\r\n7,-1,-2,-3\n\n")
    assert out == [AsciiComment("board v2"), AsciiSample(None, 1, 2, 3), AsciiSample(7, -1, -2, -3)]
    assert (dec.stats.lines, dec.stats.samples, dec.stats.bad_lines) == (3, 2, 0)


@pytest.mark.parametrize("line", [b"1,2\n", b"1,2,3,4,5\n", b"1,x,3\n", b"1_0,2,3\n", b"-1,2,3,4\n", b"1.5,2,3\n"])
def test_bad_lines_are_counted_and_skipped(line):
    dec = AsciiDecoder()
    assert dec.feed(line + b"4,5,6\n") == [AsciiSample(None, 4, 5, 6)]
    assert dec.stats.bad_lines == 1
    assert dec.stats.bytes_discarded == len(line)


def test_overlong_line_is_discarded_up_to_its_end():
    dec = AsciiDecoder()
    assert dec.feed(b"9" * 200) == []
    assert dec.feed(b"99,1,2\n1,2,3\n") == [AsciiSample(None, 1, 2, 3)]
    assert dec.stats.bad_lines == 1


def test_partial_line_waits_for_its_terminator():
    dec = AsciiDecoder()
    assert dec.feed(b"10,20") == []
    assert dec.feed(b",30\n") == [AsciiSample(None, 10, 20, 30)]


def test_commands_parse_on_the_device_side():
    assert parse_command(b"RATE 500\r\n") == ("rate", 500)
    assert parse_command(b"stop\n") == ("stop", None)
    assert parse_command(b"rate fast\n") is None
    assert parse_command(b"reboot\n") is None
    with pytest.raises(ProtocolError):
        encode_command("reboot")
    with pytest.raises(ProtocolError):
        encode_command("rate")


samples = st.tuples(
    st.one_of(st.none(), st.integers(0, 2**32 - 1)), st.integers(-(2**23), 2**23), st.integers(-(2**23), 2**23),
    st.integers(-(2**23), 2**23),
)


@settings(max_examples=100, deadline=None)
@given(st.lists(samples, max_size=50), st.lists(st.integers(0, 10**4), max_size=10))
def test_round_trip_in_any_chunking(rows, cuts):
    stream = b"".join(encode_sample(t, v, p, counter=c) for c, t, v, p in rows)
    dec = AsciiDecoder()
    out = []
    prev = 0
    for cut in sorted({c % (len(stream) + 1) for c in cuts}) + [len(stream)]:
        out += dec.feed(stream[prev:cut])
        prev = cut
    assert out == [AsciiSample(c, t, v, p) for c, t, v, p in rows]


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=2000))
def test_garbage_never_raises(garbage):
    dec = AsciiDecoder()
    for m in dec.feed(garbage) + dec.feed(b"\n"):
        assert isinstance(m, (AsciiSample, AsciiComment))
