"""Property tests of the streaming decoders: they never raise, and lose only what corruption touched."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware_protocols import (
    Ack,
    Data,
    Event,
    EventCode,
    FrameDecoder,
    FrameEncoder,
    Ping,
    Pong,
    encode_frame,
)
from firmware_protocols.framing import OVERHEAD

i32 = st.integers(-(2**31), 2**31 - 1)


@st.composite
def data_messages(draw):
    n = draw(st.integers(1, 40))
    cols = [draw(st.lists(i32, min_size=n, max_size=n)) for _ in range(3)]
    status = draw(st.binary(min_size=n, max_size=n))
    return Data.from_samples(draw(st.integers(0, 2**64 - 1)), draw(st.integers(0, 2**32 - 1)), *cols, status)


messages = st.one_of(
    data_messages(),
    st.builds(Ping, st.integers(0, 2**64 - 1)),
    st.builds(Pong, st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1)),
    st.builds(Ack, st.integers(0, 255), st.integers(0, 2**32 - 1)),
    st.builds(Event, st.integers(0, 2**64 - 1), st.integers(0, 2**32 - 1), st.sampled_from(EventCode), i32),
)

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def decode_in_chunks(stream: bytes, cuts: list[int]) -> tuple[list, FrameDecoder]:
    dec = FrameDecoder()
    out = []
    prev = 0
    for cut in sorted({c % (len(stream) + 1) for c in cuts}) + [len(stream)]:
        out += dec.feed(stream[prev:cut])
        prev = cut
    return out, dec


@SETTINGS
@given(st.lists(messages, min_size=1, max_size=12), st.lists(st.integers(0, 10**6), max_size=20))
def test_round_trip_in_any_chunking(msgs, cuts):
    enc = FrameEncoder()
    stream = b"".join(enc.encode(m) for m in msgs)
    frames, dec = decode_in_chunks(stream, cuts)
    assert [f.message for f in frames] == msgs
    assert [f.sequence for f in frames] == list(range(len(msgs)))
    assert dec.stats.bytes_discarded == 0 and dec.pending == 0


@SETTINGS
@given(st.binary(max_size=3000), st.lists(st.integers(0, 10**6), max_size=10))
def test_garbage_never_raises_and_is_all_discarded(garbage, cuts):
    frames, dec = decode_in_chunks(garbage, cuts)
    assert frames == []
    assert dec.stats.bytes_discarded + dec.pending == len(garbage)


@SETTINGS
@given(
    st.lists(messages, min_size=1, max_size=10),
    st.lists(st.tuples(st.integers(0, 10**6), st.binary(min_size=1, max_size=64)), max_size=8),
    st.lists(st.integers(0, 10**6), max_size=10),
)
def test_garbage_between_frames_loses_no_frame(msgs, insertions, cuts):
    frames_bytes = [encode_frame(m, i) for i, m in enumerate(msgs)]
    gaps = [b""] * (len(msgs) + 1)
    for where, junk in insertions:
        gaps[where % len(gaps)] += junk
    # A frame may be held back until enough bytes follow to rule out a long false header.
    tail = b"\0" * 5000
    stream = b"".join(g + f for g, f in zip(gaps, frames_bytes)) + gaps[-1] + tail
    frames, _ = decode_in_chunks(stream, cuts)
    assert [f.message for f in frames] == msgs


@SETTINGS
@given(
    st.lists(messages, min_size=2, max_size=10),
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 255)), min_size=1, max_size=6),
    st.lists(st.integers(0, 10**6), max_size=10),
)
def test_corruption_loses_only_the_frames_it_touched(msgs, flips, cuts):
    frames_bytes = [encode_frame(m, i) for i, m in enumerate(msgs)]
    stream = bytearray(b"".join(frames_bytes))
    starts = []
    offset = 0
    for f in frames_bytes:
        starts.append(offset)
        offset += len(f)
    touched = set()
    for where, xor in flips:
        pos = where % len(stream)
        stream[pos] ^= xor
        touched.add(max(i for i, s in enumerate(starts) if s <= pos))
    tail = b"\0" * 5000
    frames, dec = decode_in_chunks(bytes(stream) + tail, cuts)
    decoded = [(f.sequence, f.message) for f in frames]
    survivors = [(i, m) for i, m in enumerate(msgs) if i not in touched]
    # Every untouched frame comes out, in order; nothing comes out that was not sent.
    it = iter(decoded)
    assert all(any(d == s for d in it) for s in survivors)
    assert all(d in list(enumerate(msgs)) for d in decoded)
    # A loss is never silent: the stream's bytes either formed frames or were counted as discarded.
    if len(decoded) < len(msgs):
        assert dec.stats.bytes_discarded > len(tail)


def test_frame_inside_a_damaged_frame_is_found():
    """Resync restarts at the byte after the bad sync, not after the bad frame (BrainFlow's weakness)."""
    inner = encode_frame(Ping(42), 5)
    outer = bytearray(encode_frame(Data.from_samples(0, 0, [0] * 10, [0] * 10, [0] * 10), 4))
    outer[20 : 20 + len(inner)] = inner  # the outer frame's CRC no longer matches
    dec = FrameDecoder()
    frames = dec.feed(bytes(outer) + encode_frame(Ping(43), 6))
    assert [(f.sequence, f.message) for f in frames] == [(5, Ping(42)), (6, Ping(43))]
    assert dec.stats.crc_errors == 1


def test_impossible_length_resyncs_immediately():
    bad_header = b"\xa5\x5a\x01\x82\xff\xff" + b"\0" * 4  # length 65535 > 4096
    dec = FrameDecoder()
    frames = dec.feed(bad_header + encode_frame(Ping(1), 0))
    assert [f.message for f in frames] == [Ping(1)]
    assert dec.stats.bad_headers == 1
    assert dec.stats.bytes_discarded == len(bad_header)


def test_split_sync_marker_is_kept():
    frame = encode_frame(Ping(7), 1)
    dec = FrameDecoder()
    assert dec.feed(b"junk" + frame[:1]) == []
    assert dec.pending == 1
    assert [f.message for f in dec.feed(frame[1:])] == [Ping(7)]
    assert dec.stats.bytes_discarded == 4


def test_other_versions_are_skipped_and_counted():
    frame = bytearray(encode_frame(Ping(7), 1))
    frame[2] = 2
    from firmware_protocols import crc16

    frame[-2:] = crc16(bytes(frame[2:-2])).to_bytes(2, "little")
    dec = FrameDecoder()
    assert dec.feed(bytes(frame) + encode_frame(Ping(8), 2))[0].message == Ping(8)
    assert dec.stats.unsupported_versions == 1


def test_overhead_is_twelve_bytes():
    assert len(encode_frame(Ping(0), 0)) == OVERHEAD + 8


def test_consecutive_data_frames_of_one_size_come_out_as_one_run():
    from firmware_protocols import DataRun

    def data(first: int, n: int) -> Data:
        return Data.from_samples(first * 1000, first, list(range(n)), [2] * n, [-3] * n)

    msgs = [data(0, 10), data(10, 10), data(20, 10), data(30, 5), data(35, 5), Ping(1), data(40, 5), data(45, 5), data(50, 5)]
    frames = [encode_frame(m, i) for i, m in enumerate(msgs)]
    damaged = bytearray(frames[7])
    damaged[30] ^= 0xFF  # the second DATA after the PING: its CRC fails, so the run stops before it
    stream = b"".join(frames[:7]) + bytes(damaged) + frames[8]
    dec = FrameDecoder()
    items = dec.feed_runs(stream)
    shape = [(item.count, item.samples_per_frame) if isinstance(item, DataRun) else item.message for item in items]
    assert shape == [(3, 10), (2, 5), Ping(1), (1, 5), (1, 5)]
    expanded = [f for item in items for f in (item.frames() if isinstance(item, DataRun) else [item])]
    assert [(f.sequence, f.message) for f in expanded] == [(i, m) for i, m in enumerate(msgs) if i != 7]
    assert dec.stats.frames == 8 and dec.stats.crc_errors == 1
