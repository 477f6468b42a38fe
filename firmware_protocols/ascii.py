"""The plain ASCII line protocol that existing lab boards speak.

Device to host, one line per sample of raw ADC counts (decimal integers, optional
sign), ``\\n`` or ``\\r\\n`` terminated::

    torque,velocity,position            3 fields
    counter,torque,velocity,position    4 fields: counter is the board's sample counter

Lines starting with ``#`` are free text from the board (banners, notices) and are
returned as :class:`AsciiComment`. Anything else (a short or non-numeric line, a
line over :data:`MAX_LINE` bytes) is counted as bad and skipped. There is no
checksum: a corrupted digit can pass unnoticed, which is why labs should move to
the binary protocol. With a counter, the host can count lost samples exactly
(the counter wraps at 2**32, like an Arduino ``unsigned long``); without, it cannot.

Host to device, optional (boards that stream from power-up ignore them)::

    start\\n          start streaming
    stop\\n           stop streaming
    rate <hz>\\n      set the sample rate
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from firmware_protocols.errors import ProtocolError

__all__ = [
    "AsciiComment",
    "AsciiDecoder",
    "AsciiDecoderStats",
    "AsciiSample",
    "COUNTER_MODULUS",
    "COUNT_MAX",
    "COUNT_MIN",
    "MAX_LINE",
    "encode_command",
    "encode_sample",
    "parse_command",
]

#: Longest line accepted, in bytes, without its terminator.
MAX_LINE = 96
COUNTER_MODULUS = 1 << 32
#: The range of a count: a signed 32-bit integer, as on the binary protocol.
COUNT_MIN, COUNT_MAX = -(1 << 31), (1 << 31) - 1
COMMANDS = ("start", "stop", "rate")


class AsciiSample(NamedTuple):
    """One sample line. ``counter`` is ``None`` for 3-field lines."""

    counter: int | None
    torque: int
    velocity: int
    position: int


@dataclass(frozen=True, slots=True)
class AsciiComment:
    """A ``#`` line from the board, without the ``#`` and surrounding blanks."""

    text: str


AsciiMessage = AsciiSample | AsciiComment


@dataclass
class AsciiDecoderStats:
    bytes_received: int = 0
    bytes_discarded: int = 0
    lines: int = 0
    samples: int = 0
    bad_lines: int = 0


def encode_sample(torque: int, velocity: int, position: int, counter: int | None = None) -> bytes:
    """Encode one sample line (``\\n`` terminated)."""
    fields = (torque, velocity, position) if counter is None else (counter % COUNTER_MODULUS, torque, velocity, position)
    return (",".join(str(int(v)) for v in fields) + "\n").encode("ascii")


def encode_command(command: str, value: int | None = None) -> bytes:
    """Encode a host command: ``start``, ``stop`` or ``rate`` with its value in Hz."""
    if command not in COMMANDS:
        raise ProtocolError(f"unknown ASCII command {command!r}; expected one of {', '.join(COMMANDS)}")
    if (command == "rate") != (value is not None):
        raise ProtocolError("'rate' takes a value in Hz; 'start' and 'stop' take none")
    return (command if value is None else f"{command} {int(value)}").encode("ascii") + b"\n"


class AsciiDecoder:
    """Streaming decoder for sample lines: ``feed(chunk)`` returns complete lines' messages.

    Never raises on input. A partial line is held until its terminator arrives; a
    line that grows past :data:`MAX_LINE` without one is discarded up to the next
    terminator.
    """

    def __init__(self) -> None:
        self.stats = AsciiDecoderStats()
        self._partial = b""
        self._overlong = False

    def feed(self, chunk: bytes | bytearray | memoryview) -> list[AsciiMessage]:
        stats = self.stats
        data = bytes(chunk)
        stats.bytes_received += len(data)
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()
        out: list[AsciiMessage] = []
        for raw in lines:
            if self._overlong:
                # The tail of a line already discarded for length.
                self._overlong = False
                stats.bytes_discarded += len(raw) + 1
                stats.bad_lines += 1
                continue
            line = raw.strip()
            if not line:
                continue  # blank lines (e.g. a board's empty println) carry nothing
            stats.lines += 1
            message = _parse(line)
            if message is None:
                stats.bad_lines += 1
                stats.bytes_discarded += len(raw) + 1
            else:
                if type(message) is AsciiSample:
                    stats.samples += 1
                out.append(message)
        if len(self._partial) > MAX_LINE:
            stats.bytes_discarded += len(self._partial)
            self._partial = b""
            self._overlong = True
        return out

    def flush(self) -> int:
        """Drop a held partial line (e.g. on reconnect), count it as discarded, return its length."""
        n = len(self._partial)
        self.stats.bytes_discarded += n
        self._partial = b""
        self._overlong = False
        return n


def parse_command(line: bytes) -> tuple[str, int | None] | None:
    """Parse a host command line (device side): ``(name, value)``, or ``None`` if it is not one."""
    parts = line.strip().lower().split()
    if not parts or parts[0].decode("ascii", "replace") not in COMMANDS:
        return None
    name = parts[0].decode("ascii")
    if name == "rate":
        if len(parts) != 2 or not parts[1].isdigit():
            return None
        return name, int(parts[1])
    return (name, None) if len(parts) == 1 else None


def _parse(line: bytes) -> AsciiMessage | None:
    """Parse one stripped, non-empty line; ``None`` when it is not a valid line."""
    if len(line) > MAX_LINE:
        return None
    if line.startswith(b"#"):
        return AsciiComment(line[1:].strip().decode("ascii", "replace"))
    if b"_" in line:  # int() would accept digit separators; a board never sends them
        return None
    try:
        values = [int(p) for p in line.split(b",")]
    except ValueError:
        return None
    if len(values) == 4 and 0 <= values[0] < COUNTER_MODULUS:
        counter, counts = values[0], values[1:]
    elif len(values) == 3:
        counter, counts = None, values
    else:
        return None
    if not all(COUNT_MIN <= v <= COUNT_MAX for v in counts):  # an ADC count is a 32-bit integer at most
        return None
    return AsciiSample(counter, counts[0], counts[1], counts[2])
