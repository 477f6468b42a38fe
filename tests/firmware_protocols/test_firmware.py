"""The C firmware core (firmware_protocols/firmware/) checked against the Python codec.

The core and its host harness (``host/harness.c``) are compiled once per session with the
system C compiler, warnings as errors, plus a second build under AddressSanitizer and
UndefinedBehaviorSanitizer for the malformed-input tests. The harness exposes the C
encoder (``encode``), the C frame parser (``parse``) and the whole board on a simulated
platform (``board``); see its header comment for the line formats.
"""

from __future__ import annotations

import importlib.util
import os
import random
import shutil
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from firmware_protocols import (
    MESSAGE_TYPES,
    Ack,
    Capability,
    ChannelInfo,
    ChannelKind,
    Configure,
    Data,
    DecoderStats,
    ErrorCode,
    Event,
    EventCode,
    Frame,
    FrameDecoder,
    FrameEncoder,
    Hello,
    Info,
    MalformedMessage,
    Marker,
    Mode,
    Nak,
    PayloadLengthError,
    Ping,
    Pong,
    ProtocolError,
    Start,
    Stop,
    UnknownMessage,
    crc16,
    encode_frame,
)

FIRMWARE = Path(__file__).resolve().parents[2] / "firmware_protocols" / "firmware"
SOURCES = [FIRMWARE / "src" / "isokin_proto.c", FIRMWARE / "src" / "isokin_board.c", FIRMWARE / "host" / "harness.c"]
# Keep in step with CFLAGS in firmware_protocols/firmware/Makefile.
CFLAGS = (
    "-std=c99 -Wall -Wextra -Werror -pedantic -Wconversion -Wsign-conversion -Wshadow -Wstrict-prototypes "
    "-Wmissing-prototypes -Wcast-align -Wcast-qual -Wundef -Wvla -Wpointer-arith"
).split()
SANITIZE = "-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all".split()
SANITIZER_ENV = {"ASAN_OPTIONS": "detect_leaks=0:abort_on_error=0", "UBSAN_OPTIONS": "print_stacktrace=1"}
CC = shutil.which("cc")
RX_MAX_PAYLOAD = 64  # ISOKIN_RX_MAX_PAYLOAD; the parse harness reports it and a test checks it
HARNESS_RATES_HZ = (100, 200, 500, 1000, 2000, 5000)

pytestmark = pytest.mark.skipif(CC is None, reason="no C compiler ('cc') on PATH: the firmware core cannot be built")


def _compile(out: Path, extra: list[str]) -> Path:
    cmd = [str(CC), *CFLAGS, *extra, "-I", str(FIRMWARE / "src"), *map(str, SOURCES), "-o", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"firmware build failed: {' '.join(cmd)}\n{done.stderr}")
    return out


@pytest.fixture(scope="session")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _compile(tmp_path_factory.mktemp("firmware") / "harness", ["-O2"])


@pytest.fixture(scope="session")
def harness_sanitized(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _compile(tmp_path_factory.mktemp("firmware-asan") / "harness", SANITIZE)


def _run(binary: Path, args: list[str], stdin: bytes) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, **SANITIZER_ENV}
    done = subprocess.run([str(binary), *args], input=stdin, capture_output=True, timeout=120, env=env)
    report = done.stderr.decode(errors="replace")
    assert done.returncode == 0, report
    assert "runtime error" not in report and "Sanitizer" not in report, report
    return done


# --- the build ---------------------------------------------------------------------------------------------


def test_makefile_builds_with_the_flags_this_suite_checks():
    makefile = (FIRMWARE / "Makefile").read_text().replace("\\\n", " ")
    warn = next(line for line in makefile.splitlines() if line.startswith("WARN ="))
    assert warn.split("=", 1)[1].split() == CFLAGS
    sanitize = next(line for line in makefile.splitlines() if line.startswith("SANITIZE ="))
    assert sanitize.split("=", 1)[1].split() == SANITIZE


CPP_SKETCH = r"""
#include "isokin_board.h"
#include <cstdio>
static void put(void *, const uint8_t *, size_t n) { std::printf("wrote %u\n", (unsigned)n); }
static uint32_t now(void *) { return 0; }
static bool timer(void *, uint32_t) { return true; }
static const uint32_t rates[] = {1000};
static uint8_t frame[ISOKIN_DATA_FRAME_SIZE(4)];
static isokin_board_t board;
int main() {
    const uint8_t text[] = "123456789";
    const uint8_t start[] = {0xa5, 0x5a, 1, 3, 0, 0, 2, 0, 0, 0, 0x07, 0x43};
    isokin_board_config_t config = {"model", "serial", "1.0.0", 0, {10, 10, 10}, rates, 1, 1000};
    isokin_platform_t platform = {put, now, timer, NULL};
    int result = isokin_board_init(&board, &config, &platform, frame, sizeof frame);
    isokin_board_receive(&board, start, sizeof start);
    unsigned crc = isokin_crc16(ISOKIN_CRC_INIT, text, 9);
    std::printf("%04x %d %d\n", crc, result, (int)isokin_board_is_streaming(&board));
    return 0;
}
"""


def test_core_links_into_a_cplusplus_program_as_arduino_sketches_do(tmp_path):
    cxx = shutil.which("c++")
    if cxx is None:
        pytest.skip("no C++ compiler ('c++') on PATH")
    objects = []
    for source in SOURCES[:2]:
        objects.append(tmp_path / (source.stem + ".o"))
        subprocess.run([str(CC), *CFLAGS, "-O2", "-c", str(source), "-o", str(objects[-1])], check=True)
    program = tmp_path / "sketch.cpp"
    program.write_text(CPP_SKETCH)
    flags = ["-std=c++11", "-Wall", "-Wextra", "-Werror", "-pedantic", "-I", str(FIRMWARE / "src")]
    command = [cxx, *flags, str(program), *map(str, objects), "-o", str(tmp_path / "sketch")]
    built = subprocess.run(command, capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    # START (the golden frame) is ACKed with a 17-byte frame and starts streaming.
    assert subprocess.run([str(tmp_path / "sketch")], capture_output=True, text=True).stdout == "wrote 17\n29b1 0 1\n"


# --- the C encoder ----------------------------------------------------------------------------------------


def _golden_vectors() -> list[tuple[object, int, str]]:
    spec = importlib.util.spec_from_file_location("golden_for_firmware", Path(__file__).with_name("test_golden.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return list(module.GOLDEN)


GOLDEN = _golden_vectors()


def raw_frame(type_code: int, sequence: int, payload: bytes, *, version: int = 1) -> bytes:
    """A frame with any type, version and payload (the Python encoder only makes valid messages)."""
    body = struct.pack("<BBHI", version, type_code, len(payload), sequence) + payload
    return b"\xa5\x5a" + body + struct.pack("<H", crc16(body))


def encode_line(message: object, sequence: int, *, capacity: int | None = None) -> str:
    """The harness ``encode`` line for a message: field values for device messages, payload for host ones."""
    if isinstance(message, Data):
        n = len(message)
        values = [*message.torque, *message.position, *message.velocity, *message.status]
        head = f"data {sequence} {capacity or n} {message.timestamp_us} {message.first_sample} {n}"
        return " ".join([head, *map(str, values)])
    if isinstance(message, Info):
        fields = [message.protocol_version, int(message.capabilities), message.max_samples_per_frame]
        fields += [len(message.channels), *[v for ch in message.channels for v in (int(ch.kind), ch.adc_bits)]]
        fields += [len(message.sample_rates_hz), *message.sample_rates_hz]
        texts = [s.encode().hex() or "-" for s in (message.model, message.serial_number, message.firmware_version)]
        return " ".join(["info", str(sequence), *map(str, fields), *texts])
    if isinstance(message, Ack):
        return f"ack {sequence} {message.acked_type} {message.acked_sequence}"
    if isinstance(message, Nak):
        return f"nak {sequence} {message.refused_type} {message.refused_sequence} {int(message.error)}"
    if isinstance(message, Pong):
        return f"pong {sequence} {message.host_time_us} {message.device_time_us}"
    if isinstance(message, Event):
        return f"event {sequence} {message.timestamp_us} {message.sample_index} {int(message.code)} {message.value}"
    payload = message.pack()  # type: ignore[attr-defined]
    return f"frame {sequence} {message.TYPE} {payload.hex() or '-'}"  # type: ignore[attr-defined]


def c_encode(harness: Path, lines: list[str]) -> list[bytes]:
    out = _run(harness, ["encode"], "\n".join(lines).encode() + b"\n").stdout.decode().split()
    assert len(out) == len(lines)
    return [bytes.fromhex(h) for h in out]


@pytest.mark.parametrize("message, sequence, hex_bytes", GOLDEN, ids=[type(g[0]).__name__ for g in GOLDEN])
def test_c_encoder_reproduces_the_golden_vectors(harness, message, sequence, hex_bytes):
    lines = [encode_line(message, sequence)]
    if isinstance(message, Data):  # also built in a larger buffer, then compacted as a board does on STOP
        lines.append(encode_line(message, sequence, capacity=314))
    assert c_encode(harness, lines) == [bytes.fromhex(hex_bytes)] * len(lines)


def random_device_messages(rng: random.Random, count: int) -> list[object]:
    def i32() -> int:
        return rng.choice([-(2**31), 2**31 - 1, 0, -1, rng.randint(-(2**31), 2**31 - 1)])

    def text() -> str:
        return "".join(rng.choice("abcXYZ-_.09 éµ°") for _ in range(rng.choice([0, 1, 12, 40])))

    out: list[object] = []
    for _ in range(count):
        kind = rng.randrange(6)
        if kind == 0:
            n = rng.choice([1, 2, 50, 314, rng.randint(1, 314)])
            cols = [[i32() for _ in range(n)] for _ in range(3)]
            status = bytes(rng.randrange(256) for _ in range(n))
            out.append(Data.from_samples(rng.randrange(2**64), rng.randrange(2**32), *cols, status))
        elif kind == 1:
            kinds = [rng.choice(list(ChannelKind)) for _ in range(rng.randrange(5))]
            channels = tuple(ChannelInfo(kind, rng.randint(1, 32)) for kind in kinds)
            rates = tuple(rng.randrange(2**32) for _ in range(rng.randrange(9)))
            caps = Capability(rng.randrange(256))
            out.append(Info(rng.randrange(256), text(), text(), text(), channels, rates, rng.randrange(2**16), caps))
        elif kind == 2:
            out.append(Event(rng.randrange(2**64), rng.randrange(2**32), rng.choice(list(EventCode)), i32()))
        elif kind == 3:
            out.append(Ack(rng.randrange(256), rng.randrange(2**32)))
        elif kind == 4:
            out.append(Nak(rng.randrange(256), rng.randrange(2**32), rng.choice(list(ErrorCode))))
        else:
            out.append(Pong(rng.randrange(2**64), rng.randrange(2**64)))
    return out


def test_c_encoder_matches_the_python_codec_for_random_device_messages(harness):
    rng = random.Random(5)
    messages = random_device_messages(rng, 300)
    sequences = [rng.choice([0, 2**32 - 1, rng.randrange(2**32)]) for _ in messages]
    capacities = [rng.randint(len(m), 314) if isinstance(m, Data) else None for m in messages]
    lines = [encode_line(m, s, capacity=c) for m, s, c in zip(messages, sequences, capacities)]
    expected = [encode_frame(m, s) for m, s in zip(messages, sequences)]  # type: ignore[arg-type]
    assert c_encode(harness, lines) == expected


# --- the C frame parser -----------------------------------------------------------------------------------

HOST_COMMANDS = [
    Hello(0),
    Hello(1),
    Hello(255),
    *[Configure(1000, 50, mode) for mode in Mode],
    Configure(0, 0, Mode.SAMPLING, 0, 0.0, 0.0, 0.0, 0.0, 0),
    Configure(2**32 - 1, 65535, Mode.ECC_ECC, -128, 6553.5, 6553.5, -3276.8, 3276.7, 65535),
    Configure(2000, 314, Mode.CON_ECC, 127, 0.1, 500.0, 3276.7, -3276.8, 1),
    Configure(100, 1, Mode.ECC_CON, -1, 60.0, 180.0, -10.5, 120.3, 5),
    Start(),
    Stop(),
    Ping(0),
    Ping(2**64 - 1),
    Ping(0x0102030405060708),
    Marker(0),
    Marker(65535),
    Marker(42),
]


def expected_decoding(message: object) -> str:
    """What the harness prints for a host command the C parser decoded."""
    if isinstance(message, Hello):
        return f"hello {message.max_protocol_version}"
    if isinstance(message, Configure):
        m = message
        wire = [round(v * 10) for v in (m.velocity_plus_dps, m.velocity_minus_dps, m.rom_min_deg, m.rom_max_deg)]
        fields = [m.sample_rate_hz, m.samples_per_frame, int(m.mode), m.acting_direction, *wire, m.repetitions]
        return "configure " + " ".join(map(str, fields))
    if isinstance(message, Ping):
        return f"ping {message.host_time_us}"
    if isinstance(message, Marker):
        return f"marker {message.marker_id}"
    return "start" if isinstance(message, Start) else "stop"


@dataclass
class ParsedFrame:
    version: int
    type_code: int
    sequence: int
    payload: bytes
    decoded: str


def c_parse(binary: Path, stream: bytes) -> tuple[list[ParsedFrame], list[int]]:
    lines = _run(binary, ["parse"], stream).stdout.decode().splitlines()
    frames = []
    for line in lines[:-1]:
        tag, version, type_code, sequence, payload, decoded = line.split(" ", 5)
        assert tag == "frame"
        numbers = int(version), int(type_code), int(sequence)
        frames.append(ParsedFrame(*numbers, bytes.fromhex(payload.strip("-")), decoded))
    tag, *stats = lines[-1].split()
    assert tag == "stats"
    return frames, [int(v) for v in stats]


def test_c_parser_reads_every_host_command_into_the_same_values(harness):
    encoder = FrameEncoder(first_sequence=2**32 - 3)
    stream = b"".join(encoder.encode(m) for m in HOST_COMMANDS)  # type: ignore[arg-type]
    frames, stats = c_parse(harness, stream)
    assert [f.decoded for f in frames] == [expected_decoding(m) for m in HOST_COMMANDS]
    assert [f.sequence for f in frames] == [(2**32 - 3 + i) % 2**32 for i in range(len(HOST_COMMANDS))]
    assert stats[:2] == [len(stream), 0]


WRONG_LENGTHS = [(1, 0), (1, 2), (2, 17), (2, 19), (3, 1), (4, 2), (5, 7), (5, 9), (6, 1), (6, 3)]


@pytest.mark.parametrize("type_code, length", WRONG_LENGTHS)
def test_c_parser_flags_host_commands_of_the_wrong_length(harness, type_code, length):
    payload = bytes(range(length))
    frames, _ = c_parse(harness, raw_frame(type_code, 9, payload))
    assert [(f.type_code, f.payload, f.decoded) for f in frames] == [(type_code, payload, "bad_length")]
    with pytest.raises(ProtocolError):
        MESSAGE_TYPES[type_code].unpack(payload)


def noisy_stream(rng: random.Random, pieces: int) -> bytes:
    """Good frames of every kind, mixed with garbage, false syncs, truncations, corruption and huge lengths."""
    good = [*HOST_COMMANDS, *random_device_messages(rng, 40)]
    out = bytearray()
    for _ in range(pieces):
        kind = rng.randrange(9)
        frame = encode_frame(rng.choice(good), rng.randrange(2**32))  # type: ignore[arg-type]
        if kind <= 2:
            out += frame
        elif kind == 3:
            out += bytes(rng.randrange(256) for _ in range(rng.randint(1, 40)))
        elif kind == 4:
            out += rng.choice([b"\xa5", b"\x5a", b"\xa5\x5a", b"\xa5\xa5\x5a", b"\xa5\x5a\x01"])
        elif kind == 5:
            out += frame[: rng.randrange(1, len(frame))]
        elif kind == 6:
            damaged = bytearray(frame)
            damaged[rng.randrange(len(damaged))] ^= rng.randint(1, 255)
            out += damaged
        elif kind == 7:
            length = rng.choice([RX_MAX_PAYLOAD, RX_MAX_PAYLOAD + 1, 4096, 4097, 65535])
            out += b"\xa5\x5a\x01" + bytes([rng.randrange(256)]) + struct.pack("<H", length) + bytes(4)
        else:
            payload = bytes(rng.randrange(256) for _ in range(rng.randint(0, RX_MAX_PAYLOAD + 4)))
            out += raw_frame(rng.randrange(256), rng.randrange(2**32), payload, version=rng.choice([1, 1, 2, 255]))
    return bytes(out)


def python_view(frames: list[ParsedFrame]) -> list[Frame]:
    """The C parser's frames as the Python decoder reports them (version-1 frames only)."""
    out = []
    for f in frames:
        if f.version != 1:
            continue
        cls = MESSAGE_TYPES.get(f.type_code)
        if cls is None:
            out.append(Frame(f.sequence, UnknownMessage(f.type_code, f.payload)))
            continue
        try:
            out.append(Frame(f.sequence, cls.unpack(f.payload)))
        except ProtocolError as err:
            bad_length = isinstance(err, PayloadLengthError)
            out.append(Frame(f.sequence, MalformedMessage(f.type_code, f.payload, str(err), bad_length)))
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_c_parser_resynchronises_exactly_like_the_python_decoder(harness, seed):
    stream = noisy_stream(random.Random(seed), 400)
    frames, stats = c_parse(harness, stream)
    assert stats[-1] == RX_MAX_PAYLOAD
    decoder = FrameDecoder(max_payload=RX_MAX_PAYLOAD)
    expected = decoder.feed(stream)
    s = decoder.stats
    assert python_view(frames) == expected
    assert stats[:-1] == [s.bytes_received, s.bytes_discarded, s.frames, s.crc_errors, s.bad_headers, decoder.pending]
    assert s.crc_errors > 0 and s.bad_headers > 0 and s.unknown_types > 0  # the stream did exercise resync
    for f in frames:  # and the C decoding of each host command agrees with the Python one
        cls = MESSAGE_TYPES.get(f.type_code)
        if f.version == 1 and cls is not None and f.type_code < 0x80:
            try:
                assert f.decoded == expected_decoding(cls.unpack(f.payload))
            except ProtocolError:
                assert f.decoded == "bad_length" or (f.type_code == Configure.TYPE and f.payload[6] > max(Mode))


# --- the board on a simulated platform --------------------------------------------------------------------


@dataclass
class BoardRun:
    messages: list[object]
    timers: list[int]
    stats: DecoderStats


class Script:
    """A board-mode script; host commands are framed by a Python encoder with its own sequence."""

    def __init__(self) -> None:
        self.host = FrameEncoder()
        self.steps: list[str] = []
        self.host_bytes = bytearray()  # everything sent to the board

    def send(self, message: object) -> int:
        sequence = self.host.sequence
        self.send_raw(self.host.encode(message))  # type: ignore[arg-type]
        return sequence

    def send_raw(self, frame: bytes) -> None:
        self.steps.append(f"rx {frame.hex()}")
        self.host_bytes += frame

    def step(self, text: str) -> None:
        self.steps.append(text)


def run_board(binary: Path, script: Script, *args: int) -> BoardRun:
    done = _run(binary, ["board", *map(str, args)], "\n".join(script.steps).encode() + b"\n")
    decoder = FrameDecoder()
    frames = decoder.feed(done.stdout)
    # Whatever the host sent, the board sends only whole, good, consecutively numbered frames.
    assert decoder.stats.bytes_discarded == 0 and decoder.pending == 0
    assert decoder.stats.malformed_payloads == 0 and decoder.stats.unknown_types == 0
    assert [f.sequence for f in frames] == list(range(len(frames)))
    timers = [int(line.split()[1]) for line in done.stderr.decode().splitlines() if line.startswith("timer ")]
    return BoardRun([f.message for f in frames], timers, decoder.stats)


def pattern(g: int) -> tuple[int, int, int, int]:
    """The harness's counts for sample g since the timer started (sample_pattern() in harness.c)."""
    mixed = (g * 2654435761) % 2**32
    torque = mixed - 2**32 if mixed >= 2**31 else mixed
    return torque, g % 100000 - 50000, -271 * (g % 7919), g & 0x0F


def data_frames(messages: list[object]) -> list[Data]:
    return [m for m in messages if isinstance(m, Data)]


def assert_pattern(frames: list[Data], *, start_us: int, period_us: int) -> None:
    for d in frames:
        assert d.timestamp_us == start_us + d.first_sample * period_us
        expected = [pattern(d.first_sample + k) for k in range(len(d))]
        assert list(zip(d.torque, d.position, d.velocity, d.status)) == expected


def test_board_answers_a_session_as_the_specification_shows(harness):
    script = Script()
    script.send(Hello(1))
    configure = script.send(Configure(1000, 20))
    start = script.send(Start())
    script.step("samples 45")
    script.send(Ping(123456789))
    marker = script.send(Marker(7))
    stop = script.send(Stop())
    run = run_board(harness, script, 5_000_000)
    channels = (ChannelKind.TORQUE, 16), (ChannelKind.POSITION, 12), (ChannelKind.VELOCITY, 10)
    info = Info(
        1,
        "isokin-host-harness",
        "HOST-0001",
        "1.0.0",
        tuple(ChannelInfo(kind, bits) for kind, bits in channels),
        HARNESS_RATES_HZ,
        314,
        Capability.MARKER_BUTTON,
    )
    data = data_frames(run.messages)
    assert run.messages == [
        info,
        Ack(Configure.TYPE, configure),
        Ack(Start.TYPE, start),
        data[0],
        data[1],
        Pong(123456789, 5_000_000 + 45 * 1000),
        Ack(Marker.TYPE, marker),
        Event(5_000_000 + 45 * 1000, 45, EventCode.MARKER_HOST, 7),
        data[2],
        Ack(Stop.TYPE, stop),
    ]
    assert [(d.first_sample, len(d)) for d in data] == [(0, 20), (20, 20), (40, 5)]
    assert_pattern(data, start_us=5_000_000, period_us=1000)
    assert run.timers == [1000, 0]


def test_board_streams_100k_samples_that_python_decodes_with_zero_loss(harness):
    start_us = 2**32 - 30_000_000  # micros() wraps 30 s into the run: DATA times must go on past 2**32
    script = Script()
    script.send(Configure(2000, 0))
    script.send(Start())
    for _ in range(4):
        script.step("samples 25000")
        script.send(Ping(1))
    script.send(Stop())
    run = run_board(harness, script, start_us)
    data = data_frames(run.messages)
    assert sum(len(d) for d in data) == 100_000
    assert [d.first_sample for d in data] == [40 * i for i in range(2500)]  # 2000 Hz / 50 frames/s
    assert_pattern(data, start_us=start_us, period_us=500)
    pongs = [m.device_time_us for m in run.messages if isinstance(m, Pong)]
    assert pongs == [start_us + 25000 * 500 * i for i in (1, 2, 3, 4)]
    assert run.stats.crc_errors == 0 and run.stats.frames == len(run.messages)


NAK_CASES: dict[str, tuple[tuple[object, ...], object, ErrorCode]] = {
    # name: (steps before, the command (a message, or raw frame bytes), the NAK's error code)
    "unknown host type": ((), raw_frame(0x07, 77, b""), ErrorCode.UNKNOWN_TYPE),
    "device type from host": ((), raw_frame(0x84, 77, bytes(5)), ErrorCode.UNKNOWN_TYPE),
    "HELLO without payload": ((), raw_frame(0x01, 77, b""), ErrorCode.BAD_LENGTH),
    "START with payload": ((), raw_frame(0x03, 77, b"\0"), ErrorCode.BAD_LENGTH),
    "STOP with payload": ((), raw_frame(0x04, 77, b"\0"), ErrorCode.BAD_LENGTH),
    "short PING": ((), raw_frame(0x05, 77, bytes(7)), ErrorCode.BAD_LENGTH),
    "long MARKER": ((), raw_frame(0x06, 77, bytes(3)), ErrorCode.BAD_LENGTH),
    "short CONFIGURE": ((), raw_frame(0x02, 77, bytes(17)), ErrorCode.BAD_LENGTH),
    "unknown mode": ((), Configure(1000, 10, 7), ErrorCode.BAD_VALUE),  # type: ignore[arg-type]
    "acting direction 2": ((), Configure(1000, 10, Mode.SAMPLING, 2), ErrorCode.BAD_VALUE),
    "acting direction -2": ((), Configure(1000, 10, Mode.SAMPLING, -2), ErrorCode.BAD_VALUE),
    "batch above INFO's maximum": ((), Configure(1000, 315), ErrorCode.BAD_VALUE),
    "rate not in INFO": ((), Configure(999, 10), ErrorCode.UNSUPPORTED_RATE),
    "CONFIGURE while streaming": ((Start(),), Configure(1000, 10), ErrorCode.NOT_ALLOWED_NOW),
    "HELLO for version 0": ((), Hello(0), ErrorCode.UNSUPPORTED_VERSION),
    "driving mode": ((), Configure(1000, 10, Mode.CON_CON, 0, 60, 60, 0, 90), ErrorCode.NOT_SUPPORTED),
    "velocity while sampling": ((), Configure(1000, 10, Mode.SAMPLING, 0, 60.0), ErrorCode.NOT_SUPPORTED),
    "repetitions while sampling": ((), Configure(1000, 10, repetitions=5), ErrorCode.NOT_SUPPORTED),
    "sampling timer fails": (("timer_fault 1",), Start(), ErrorCode.HARDWARE_FAULT),
}


@pytest.mark.parametrize("setup, command, error", NAK_CASES.values(), ids=NAK_CASES.keys())
def test_board_refuses_bad_commands_with_the_specified_nak(harness, setup, command, error):
    script = Script()
    for item in setup:
        if isinstance(item, str):
            script.step(item)
        else:
            script.send(item)
    answers_before = sum(not isinstance(item, str) for item in setup)
    if isinstance(command, bytes):
        script.send_raw(command)
        refused = (command[3], int.from_bytes(command[6:10], "little"))
    else:
        refused = (command.TYPE, script.send(command))
    script.send(Ping(99))  # the board is still listening afterwards
    run = run_board(harness, script)
    assert run.messages[answers_before:] == [Nak(*refused, error), Pong(99, 0)]


def test_board_nak_is_byte_for_byte_the_golden_vector(harness):
    script = Script()
    for _ in range(9):  # the board's next frame is number 9
        script.send(Ping(0))
    script.send_raw(encode_frame(Configure(999, 50), 1))
    done = _run(harness, ["board"], "\n".join(script.steps).encode() + b"\n")
    golden_nak = next(h for m, _, h in GOLDEN if isinstance(m, Nak))
    assert done.stdout.endswith(bytes.fromhex(golden_nak))


def test_board_ignores_frames_of_other_versions(harness):
    script = Script()
    script.send_raw(raw_frame(Ping.TYPE, 0, bytes(8), version=2))
    script.send(Ping(5))
    assert run_board(harness, script).messages == [Pong(5, 0)]


def test_samples_lost_in_a_full_queue_show_as_an_exact_gap_in_first_sample(harness):
    script = Script()
    script.send(Configure(500, 10))
    script.send(Start())
    script.step("samples 13")
    script.step("fire 71")  # the harness queue holds 64: samples 77..83 are lost
    script.step("deliver")
    script.step("samples 12")
    script.send(Stop())
    data = data_frames(run_board(harness, script).messages)
    starts = [(d.first_sample, len(d)) for d in data]
    assert starts == [(0, 10), *[(10 * i, 10) for i in range(1, 7)], (70, 7), (84, 10), (94, 2)]
    assert_pattern(data, start_us=0, period_us=2000)


def test_samples_queued_before_a_ping_keep_their_earlier_time(harness):
    script = Script()
    script.send(Configure(1000, 5))
    script.send(Start())
    script.step("fire 5")  # taken at 7000..11000 us, handed over after the PING read the clock
    script.send(Ping(3))
    script.step("deliver")
    messages = run_board(harness, script, 7000).messages
    assert messages[2] == Pong(3, 12000)
    assert [(d.timestamp_us, d.first_sample) for d in data_frames(messages)] == [(7000, 0)]


def test_start_while_streaming_sends_what_was_sampled_then_restarts_the_index(harness):
    script = Script()
    script.send(Configure(1000, 20))
    script.send(Start())
    script.step("samples 30")
    restart = script.send(Start())
    script.step("samples 20")
    run = run_board(harness, script)
    kinds = [(type(m).__name__, getattr(m, "first_sample", None)) for m in run.messages]
    assert kinds == [("Ack", None), ("Ack", None), ("Data", 0), ("Data", 20), ("Ack", None), ("Data", 0)]
    assert run.messages[4] == Ack(Start.TYPE, restart)
    assert run.timers == [1000, 1000]


def test_device_clock_stays_64_bit_across_micros_wraps_while_idle(harness):
    idle_us = 3 * 2**32 + 12345  # three wraps of the 32-bit micros(), about 3.6 hours
    script = Script()
    script.step(f"idle {idle_us}")
    script.send(Ping(1))
    assert run_board(harness, script, 1000).messages == [Pong(1, 1000 + idle_us)]


def test_marker_button_sends_an_event_only_while_streaming(harness):
    script = Script()
    script.step("button 1")
    script.send(Start())
    script.step("samples 3")
    script.step("button 2")
    script.send(Stop())
    events = [m for m in run_board(harness, script).messages if isinstance(m, Event)]
    assert events == [Event(3000, 3, EventCode.MARKER_BUTTON, 2)]


@pytest.mark.parametrize("rate_hz, batch", [(100, 2), (1000, 20), (5000, 32)])
def test_batch_left_to_the_board_aims_at_50_frames_per_second_within_its_buffer(harness, rate_hz, batch):
    script = Script()
    script.send(Hello(1))
    script.send(Configure(rate_hz, 0))
    script.send(Start())
    script.step(f"samples {batch}")
    run = run_board(harness, script, 0, 32)
    assert run.messages[0].max_samples_per_frame == 32  # type: ignore[attr-defined]
    assert [len(d) for d in data_frames(run.messages)] == [batch]


# --- sanitizers: malformed and random input ---------------------------------------------------------------


@pytest.mark.parametrize("seed", [11, 12])
def test_sanitized_parser_survives_random_and_malformed_input(harness_sanitized, seed):
    rng = random.Random(seed)
    stream = noisy_stream(rng, 5000) + rng.randbytes(200_000)
    stream += b"\xa5\x5a\x01\x02\xff\xff" + b"\xa5\x5a\x01\x02\x40\x00" + bytes(30)  # huge, then truncated
    frames, stats = c_parse(harness_sanitized, stream)
    decoder = FrameDecoder(max_payload=RX_MAX_PAYLOAD)
    assert python_view(frames) == decoder.feed(stream)
    assert stats[0] == len(stream) and stats[5] == decoder.pending


def fuzz_script(rng: random.Random, steps: int) -> Script:
    """Commands with random fields, lengths and corruption, interleaved with samples, losses and noise."""
    script = Script()
    for _ in range(steps):
        kind = rng.randrange(8)
        if kind == 0:
            spf = rng.choice([0, 1, 31, 32, 33, 314, 315, 65535])
            rate_hz = rng.choice([*HARNESS_RATES_HZ, 0, 999])
            script.send(Configure(rate_hz, spf, rng.choice(list(Mode)), rng.choice([-1, 0, 0, 1])))
        elif kind == 1:
            simple = [Start(), Stop(), Hello(rng.randrange(3)), Ping(rng.randrange(2**64)), Marker(rng.randrange(99))]
            script.send(rng.choice(simple))
        elif kind == 2:
            payload = bytes(rng.randrange(256) for _ in range(rng.randint(0, RX_MAX_PAYLOAD + 8)))
            script.send_raw(raw_frame(rng.randint(0, 9), rng.randrange(2**32), payload))
        elif kind == 3:
            frame = bytearray(encode_frame(rng.choice(HOST_COMMANDS), rng.randrange(2**32)))  # type: ignore[arg-type]
            frame[rng.randrange(len(frame))] ^= rng.randint(1, 255)
            script.send_raw(bytes(frame[: rng.randint(1, len(frame))]))
        elif kind == 4:
            script.send_raw(bytes(rng.randrange(256) for _ in range(rng.randint(1, 200))))
        elif kind == 5:
            script.step(f"samples {rng.randint(0, 400)}")
        elif kind == 6:
            idle = f"idle {rng.randrange(2**33)}"
            script.step(rng.choice([f"fire {rng.randint(1, 100)}", "deliver", f"button {rng.randrange(9)}", idle]))
        else:
            script.step(f"timer_fault {int(rng.random() < 0.2)}")
    return script


@pytest.mark.parametrize("seed, buffer_samples", [(21, 314), (22, 1), (23, 32)])
def test_sanitized_board_survives_random_commands_and_sends_only_good_frames(
    harness_sanitized, seed, buffer_samples
):
    script = fuzz_script(random.Random(seed), 6000)
    run = run_board(harness_sanitized, script, 2**32 - 1000, buffer_samples)
    host_view = FrameDecoder(max_payload=RX_MAX_PAYLOAD)
    host_view.feed(bytes(script.host_bytes))
    answers = [m for m in run.messages if isinstance(m, (Ack, Nak, Info, Pong))]
    assert len(answers) == host_view.stats.frames  # exactly one answer to every intact frame sent
    assert any(isinstance(m, Data) for m in run.messages)


def test_sanitized_encoders_handle_the_largest_messages(harness_sanitized):
    long_text = "x" * 255
    channels = tuple(ChannelInfo(ChannelKind.TORQUE, 16) for _ in range(255))
    info = Info(1, long_text, long_text, long_text, channels, tuple(range(255)), 314)
    full = Data.from_samples(2**64 - 1, 2**32 - 1, [-(2**31)] * 314, [2**31 - 1] * 314, [-1] * 314, bytes([255]) * 314)
    one = Data.from_samples(0, 0, [1], [2], [3], [4])
    lines = [encode_line(info, 0), encode_line(full, 1), encode_line(one, 2, capacity=314)]
    assert c_encode(harness_sanitized, lines) == [encode_frame(info, 0), encode_frame(full, 1), encode_frame(one, 2)]
