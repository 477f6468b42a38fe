"""The simulated dynamometer board: a protocol-speaking state machine with a device clock.

:class:`SimulatedDevice` does no I/O and reads no clock. It is fed the host's bytes
with :meth:`~SimulatedDevice.receive` and asked for what it has to send up to a
device time with :meth:`~SimulatedDevice.produce_frames` (or :meth:`~SimulatedDevice.produce`
for the bytes); a pacing loop (:mod:`simulators.pacing`) calls both from a monotonic
clock. It speaks

- **binary protocol v1** (``firmware_protocols/PROTOCOL.md``): HELLO/INFO, CONFIGURE with
  validation, START/STOP, PING/PONG, MARKER, DATA in batches of ``samples_per_frame``,
  EVENTs (range limits, host markers, set complete), NAK for everything refused;
- the **ASCII line protocol**: ``counter,torque,velocity,position`` lines (or without the
  counter), streaming from power-up unless told otherwise, obeying ``start``, ``stop``
  and ``rate N``.

The movement is the physiological model's (:class:`~simulators.source.SampleSource`).
Before any CONFIGURE, or in SAMPLING mode, the subject repeats the default set (the
joint's default pattern, con/con at 60 deg/s) until stopped; a CONFIGURE with a driving
mode sets mode, velocities, range and repetitions, and SET_COMPLETE ends the set.

Identity: model ``isokin-sim``, serial ``SIM-<seed>``, firmware = the package version.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from importlib import metadata
from typing import NamedTuple

import numpy as np

from firmware_protocols.ascii import encode_sample, parse_command
from firmware_protocols.framing import FrameDecoder, FrameEncoder, MalformedMessage, UnknownMessage
from firmware_protocols.messages import (
    MAX_SAMPLES_PER_FRAME,
    PROTOCOL_VERSION,
    Ack,
    Capability,
    ChannelInfo,
    ChannelKind,
    Configure,
    Data,
    ErrorCode,
    Event,
    EventCode,
    Hello,
    Info,
    Marker,
    Message,
    Mode,
    Nak,
    Ping,
    Pong,
    Start,
    Stop,
)
from firmware_protocols.vocabulary import MODE_CODES
from simulators.adc import ADC_BITS
from simulators.joints import JOINT_PATTERNS, PATTERN_DIRECTIONS
from simulators.model import SetProtocol, SubjectProfile, default_profile
from simulators.source import Chunk, SampleSource
from simulators.truth import SetTruth

__all__ = [
    "CAPABILITIES",
    "DEFAULT_SAMPLE_RATE_HZ",
    "DEFAULT_VELOCITY_DPS",
    "EmittedRun",
    "MODEL",
    "OutFrame",
    "PROTOCOLS",
    "SAMPLE_RATES_HZ",
    "SimulatedDevice",
    "default_samples_per_frame",
    "firmware_version",
]

MODEL = "isokin-sim"
SAMPLE_RATES_HZ = (100, 200, 250, 500, 1000, 2000, 5000, 10000, 20000, 50000)
DEFAULT_SAMPLE_RATE_HZ = 1000
DEFAULT_VELOCITY_DPS = 60.0
CAPABILITIES = Capability.DRIVES_MACHINE | Capability.MARKER_BUTTON
PROTOCOLS = ("binary", "ascii")
#: CONFIGURE's mode -> the canonical mode name (the inverse of the one mode table).
_MODE_NAMES = {code: name for name, code in MODE_CODES.items()}
_MAX_ASCII_COMMAND = 64


class OutFrame(NamedTuple):
    """One unit of output: a binary frame or an ASCII line, with the samples it carries.

    ``run`` counts STARTs (0 for the first); ``first_sample``/``sample_count`` are the
    sample range (``sample_count`` 0 for frames without samples).
    """

    data: bytes
    kind: str
    run: int
    first_sample: int
    sample_count: int


@dataclass(frozen=True, eq=False)
class EmittedRun:
    """Every sample the device sent in one run, in counts.

    ``timestamp_us`` is each sample's device time; the other arrays as in DATA.
    """

    run: int
    sample_rate_hz: int
    sample_index: np.ndarray
    timestamp_us: np.ndarray
    torque: np.ndarray
    position: np.ndarray
    velocity: np.ndarray
    status: np.ndarray


def firmware_version() -> str:
    """The installed ``isokin`` package version, reported as the simulator's firmware."""
    try:
        return metadata.version("isokin")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def default_samples_per_frame(sample_rate_hz: int) -> int:
    """DATA batch size when the host lets the device choose: 10 ms of samples, 1..314."""
    return max(1, min(MAX_SAMPLES_PER_FRAME, sample_rate_hz // 100))


class _Run:
    """State of one streaming run (START to STOP or SET_COMPLETE)."""

    def __init__(self, index: int, source: SampleSource, *, start_us: int, rate_hz: int, spf: int, reps: int) -> None:
        self.index = index
        self.source = source
        self.start_us = start_us
        self.rate_hz = rate_hz
        self.spf = spf
        self.repetitions = reps
        self.sent = 0

    def time_us(self, k: int) -> int:
        return self.start_us + k * 1_000_000 // self.rate_hz

    def taken_by(self, now_us: int) -> int:
        """Samples taken by device time ``now_us`` (sample 0 at ``start_us``)."""
        if now_us < self.start_us:
            return 0
        n = (now_us - self.start_us) * self.rate_hz // 1_000_000 + 1
        remaining = self.source.remaining
        return n if remaining is None else min(n, self.source.taken + remaining)


class SimulatedDevice:
    """A simulated interface board on a dynamometer that it drives.

    Parameters
    ----------
    profile
        The simulated subject (default: :func:`simulators.model.default_profile`).
    protocol
        ``"binary"`` or ``"ascii"``.
    joint, side
        Joint (its default pattern is used) and side of the simulated subject.
    sample_rate_hz
        Rate before any CONFIGURE (``rate`` command in ASCII), one of :data:`SAMPLE_RATES_HZ`.
    seed
        Seed of the subject's variability and noise; also names the board ``SIM-<seed>``.
    ascii_counter
        ASCII lines carry the sample counter (4 fields) or not (3 fields).
    ascii_autostart
        ASCII mode streams from power-up (device time 0) without waiting for ``start``.
    keep_emitted
        Keep every emitted sample for :meth:`emitted` (costs memory on long runs).

    Example
    -------
    >>> from firmware_protocols import FrameDecoder, FrameEncoder, Hello
    >>> dev = SimulatedDevice(seed=1)
    >>> dev.receive(FrameEncoder().encode(Hello(1)), device_time_s=0.0)
    >>> FrameDecoder().feed(dev.produce(0.0))[0].message.serial_number
    'SIM-1'
    """

    def __init__(
        self,
        profile: SubjectProfile | None = None,
        *,
        protocol: str = "binary",
        joint: str = "knee",
        side: str = "left",
        sample_rate_hz: int = DEFAULT_SAMPLE_RATE_HZ,
        seed: int = 0,
        ascii_counter: bool = True,
        ascii_autostart: bool = True,
        keep_emitted: bool = True,
    ) -> None:
        if protocol not in PROTOCOLS:
            raise ValueError(f"protocol must be one of {', '.join(PROTOCOLS)}, got {protocol!r}")
        if joint not in JOINT_PATTERNS:
            raise ValueError(f"unknown joint {joint!r}; expected one of {', '.join(JOINT_PATTERNS)}")
        if side not in ("left", "right"):
            raise ValueError(f"side must be 'left' or 'right', got {side!r}")
        _check_rate(sample_rate_hz)
        self.profile = default_profile() if profile is None else profile
        self.protocol = protocol
        self.joint = joint
        self.pattern = JOINT_PATTERNS[joint][0]
        self.side = side
        self.seed = seed
        self.ascii_counter = ascii_counter
        self.keep_emitted = keep_emitted
        self.info = Info(
            protocol_version=PROTOCOL_VERSION,
            model=MODEL,
            serial_number=f"SIM-{seed}",
            firmware_version=firmware_version(),
            channels=tuple(ChannelInfo(k, ADC_BITS) for k in (ChannelKind.TORQUE, ChannelKind.POSITION, ChannelKind.VELOCITY)),
            sample_rates_hz=SAMPLE_RATES_HZ,
            max_samples_per_frame=MAX_SAMPLES_PER_FRAME,
            capabilities=CAPABILITIES,
        )
        self.sample_rate_hz = sample_rate_hz
        self.samples_per_frame = default_samples_per_frame(sample_rate_hz)
        self._set: SetProtocol | None = None  # None: the default set, endless
        self._repetitions = 0
        self._prepared: SampleSource | None = None
        self._hold_deg: float | None = None  # PASSIVE: the angle the relaxed limb is held at
        self._now_us = 0
        self._out: list[OutFrame] = []
        self._runs: list[_Run] = []
        self._run: _Run | None = None
        self._decoder = FrameDecoder()
        self._encoder = FrameEncoder()
        self._line = bytearray()
        if protocol == "ascii" and ascii_autostart:
            self._start()

    # --- public interface -------------------------------------------------------------

    @property
    def streaming(self) -> bool:
        return self._run is not None

    @property
    def runs(self) -> int:
        """Number of streaming runs so far (STARTs, and the power-up run in ASCII mode)."""
        return len(self._runs)

    @property
    def now_s(self) -> float:
        """The latest device time seen, s."""
        return self._now_us / 1e6

    def receive(self, data: bytes, *, device_time_s: float | None = None) -> None:
        """Take bytes from the host; ``device_time_s`` is when they arrived (default: now).

        Samples due before that time are produced first, so replies follow them.
        """
        if device_time_s is not None:
            self._advance(_us(device_time_s))
        if self.protocol == "binary":
            for frame in self._decoder.feed(data):
                self._handle(frame.sequence, frame.message)
        else:
            self._receive_ascii(data)

    def produce_frames(self, until_device_time_s: float) -> list[OutFrame]:
        """Everything to send up to device time ``until_device_time_s`` (s), in order."""
        self._advance(_us(until_device_time_s))
        out, self._out = self._out, []
        return out

    def produce(self, until_device_time_s: float) -> bytes:
        """:meth:`produce_frames` as one byte string."""
        return b"".join(f.data for f in self.produce_frames(until_device_time_s))

    @property
    def samples_sent(self) -> int:
        """Samples sent in the newest run (0 before the first START): how far the emitted stream has gone."""
        run = self._run or (self._runs[-1] if self._runs else None)
        return 0 if run is None else run.sent

    def next_due_s(self) -> float | None:
        """Device time (s) at which there will be something to send, ``None`` when idle."""
        if self._out:
            return self._now_us / 1e6
        run = self._run
        if run is None:
            return None
        n = run.spf if run.source.remaining is None else min(run.spf, run.source.remaining)
        if n == 0:
            return self._now_us / 1e6
        return run.time_us(run.sent + n - 1) / 1e6

    def truth(self, run: int = -1) -> SetTruth:
        """Repetition ground truth of a run (default: the latest), times from its sample 0."""
        if not self._runs:
            raise ValueError("the device has not streamed yet: no ground truth")
        return self._runs[run].source.truth()

    def emitted(self) -> list[EmittedRun]:
        """Every sample sent so far, run by run (needs ``keep_emitted=True``)."""
        out = []
        for run in self._runs:
            chunk = run.source.kept(run.sent)
            index = np.arange(run.sent, dtype=np.int64)
            out.append(
                EmittedRun(
                    run=run.index,
                    sample_rate_hz=run.rate_hz,
                    sample_index=index,
                    timestamp_us=run.start_us + index * 1_000_000 // run.rate_hz,
                    torque=chunk.torque,
                    position=chunk.position,
                    velocity=chunk.velocity,
                    status=chunk.status,
                )
            )
        return out

    # --- streaming ------------------------------------------------------------------

    def _start(self) -> None:
        source = self._prepared or self._new_source()
        self._prepared = None
        self._run = _Run(
            len(self._runs),
            source,
            start_us=self._now_us,
            rate_hz=self.sample_rate_hz,
            spf=self.samples_per_frame,
            reps=self._repetitions,
        )
        self._runs.append(self._run)

    def _new_source(self) -> SampleSource:
        """The next run's samples: the configured set, a passive hold, or the default set chained."""
        if self._set is None:
            protocol = SetProtocol(
                joint=self.joint,
                pattern=self.pattern,
                side=self.side,
                mode="con/con",
                velocity_dps=DEFAULT_VELOCITY_DPS,
            )
            endless = True
        else:
            protocol, endless = self._set, self._repetitions == 0
        return SampleSource(
            self.profile,
            protocol,
            sample_rate_hz=self.sample_rate_hz,
            seed=self.seed,
            endless=endless,
            keep=self.keep_emitted,
            hold_deg=self._hold_deg,
        )

    def _advance(self, until_us: int) -> None:
        if until_us < self._now_us:
            return
        run = self._run
        while run is not None:
            remaining = run.source.remaining
            n = run.spf if remaining is None else min(run.spf, remaining)
            if n == 0:
                self._complete(run)
                break
            if run.time_us(run.sent + n - 1) > until_us:
                break
            self._now_us = max(self._now_us, run.time_us(run.sent + n - 1))
            self._emit(run, n)
        self._now_us = until_us

    def _stop_run(self) -> None:
        """End the current run (if any), sending the samples already taken."""
        run = self._run
        if run is None:
            return
        n = run.taken_by(self._now_us) - run.sent
        while n > 0:
            k = min(n, run.spf)
            self._emit(run, k)
            n -= k
        self._run = None

    def _complete(self, run: _Run) -> None:
        last = max(run.sent - 1, 0)
        self._send(Event(run.time_us(last), last, EventCode.SET_COMPLETE, run.repetitions), run)
        self._run = None

    def _emit(self, run: _Run, n: int) -> None:
        chunk = run.source.take(n)
        if self.protocol == "binary":
            self._out.append(
                OutFrame(self._encoder.encode(_data(run.time_us(run.sent), run.sent, chunk)), "DATA", run.index, run.sent, len(chunk))
            )
            for index, value in chunk.limit_events:
                self._send(Event(run.time_us(index), index % (1 << 32), EventCode.LIMIT_REACHED, value), run)
        else:
            for k in range(len(chunk)):
                counter = run.sent + k if self.ascii_counter else None
                line = encode_sample(int(chunk.torque[k]), int(chunk.velocity[k]), int(chunk.position[k]), counter)
                self._out.append(OutFrame(line, "line", run.index, run.sent + k, 1))
        run.sent += len(chunk)

    def _send(self, message: Ack | Nak | Info | Pong | Event, run: _Run | None = None) -> None:
        index = -1 if run is None else run.index
        self._out.append(OutFrame(self._encoder.encode(message), _KIND[type(message)], index, 0, 0))

    # --- binary commands ------------------------------------------------------------

    def _handle(self, sequence: int, message: Message | UnknownMessage | MalformedMessage) -> None:
        if isinstance(message, UnknownMessage):
            self._send(Nak(message.type_code, sequence, ErrorCode.UNKNOWN_TYPE))
        elif isinstance(message, MalformedMessage):
            reason = ErrorCode.BAD_LENGTH if message.bad_length else ErrorCode.BAD_VALUE
            if message.type_code >= 0x80:  # a device-to-host type: not a command at all
                reason = ErrorCode.UNKNOWN_TYPE
            self._send(Nak(message.type_code, sequence, reason))
        elif isinstance(message, Hello):
            if message.max_protocol_version < PROTOCOL_VERSION:
                self._send(Nak(Hello.TYPE, sequence, ErrorCode.UNSUPPORTED_VERSION))
            else:
                self._send(self.info)
        elif isinstance(message, Configure):
            error = self._configure(message)
            self._send(Ack(Configure.TYPE, sequence) if error is None else Nak(Configure.TYPE, sequence, error))
        elif isinstance(message, Start):
            self._stop_run()
            self._send(Ack(Start.TYPE, sequence))
            self._start()
        elif isinstance(message, Stop):
            self._stop_run()
            self._send(Ack(Stop.TYPE, sequence))
        elif isinstance(message, Ping):
            self._send(Pong(message.host_time_us, self._now_us))
        elif isinstance(message, Marker):
            self._send(Ack(Marker.TYPE, sequence))
            run = self._run or (self._runs[-1] if self._runs else None)
            index = 0 if run is None else run.taken_by(self._now_us)  # the next sample to be taken
            self._send(Event(self._now_us, index % (1 << 32), EventCode.MARKER_HOST, message.marker_id), run)
        else:  # a device-to-host message sent by the host
            self._send(Nak(message.TYPE, sequence, ErrorCode.UNKNOWN_TYPE))

    def _configure(self, msg: Configure) -> ErrorCode | None:
        """Apply a CONFIGURE; the NAK reason when refused (checks in PROTOCOL.md's order)."""
        if self._run is not None:
            return ErrorCode.NOT_ALLOWED_NOW
        driving = msg.mode not in (Mode.SAMPLING, Mode.ISOMETRIC, Mode.PASSIVE)
        one_group = msg.mode in (Mode.CON_ECC, Mode.ECC_CON)
        if (
            msg.samples_per_frame > MAX_SAMPLES_PER_FRAME
            or msg.acting_direction not in (-1, 0, 1)
            or (driving and (msg.velocity_plus_dps <= 0 or msg.velocity_minus_dps <= 0))
            or (driving and msg.rom_min_deg >= msg.rom_max_deg)
            or (one_group and msg.acting_direction == 0)
            or (msg.mode == Mode.ISOMETRIC and msg.rom_min_deg != msg.rom_max_deg)
        ):
            return ErrorCode.BAD_VALUE
        # The simulated machine holds a passive limb still (limb weighing) but moves none.
        if msg.mode == Mode.PASSIVE and msg.rom_min_deg != msg.rom_max_deg:
            return ErrorCode.NOT_SUPPORTED
        if msg.sample_rate_hz not in SAMPLE_RATES_HZ:
            return ErrorCode.UNSUPPORTED_RATE
        spf = msg.samples_per_frame or default_samples_per_frame(msg.sample_rate_hz)
        self._hold_deg = msg.rom_min_deg if msg.mode == Mode.PASSIVE else None
        if msg.mode in (Mode.SAMPLING, Mode.PASSIVE):
            self._set, self._repetitions, self._prepared = None, 0, None
        else:
            group = None
            if one_group or (msg.mode == Mode.ISOMETRIC and msg.acting_direction != 0):
                group = PATTERN_DIRECTIONS[self.pattern][0 if msg.acting_direction > 0 else 1]
            try:
                if msg.mode == Mode.ISOMETRIC:  # the lever held at rom_min = rom_max; contractions of group, or each in turn
                    protocol = SetProtocol(joint=self.joint, pattern=self.pattern, side=self.side, mode="isometric",
                                           repetitions=msg.repetitions or 1, angle_deg=msg.rom_min_deg, group=group)
                else:
                    protocol = SetProtocol(
                        joint=self.joint,
                        pattern=self.pattern,
                        side=self.side,
                        mode=_MODE_NAMES[msg.mode],
                        velocity_dps=(msg.velocity_plus_dps, msg.velocity_minus_dps),
                        repetitions=msg.repetitions or 1,
                        rom_deg=(msg.rom_min_deg, msg.rom_max_deg),
                        group=group,
                    )
                prepared = SampleSource(
                    self.profile,
                    protocol,
                    sample_rate_hz=msg.sample_rate_hz,
                    seed=self.seed,
                    endless=msg.repetitions == 0,
                    keep=self.keep_emitted,
                )
            except ValueError:
                return ErrorCode.BAD_VALUE
            self._set, self._repetitions, self._prepared = protocol, msg.repetitions, prepared
        self.sample_rate_hz, self.samples_per_frame = msg.sample_rate_hz, spf
        return None

    # --- ASCII commands -------------------------------------------------------------

    def _receive_ascii(self, data: bytes) -> None:
        self._line += data
        *lines, rest = self._line.split(b"\n")
        self._line = bytearray(rest[-_MAX_ASCII_COMMAND:])
        for line in lines:
            if not line.strip():
                continue
            command = parse_command(bytes(line))
            if command is None:
                self._comment(f"error: unknown command {line.strip()[:_MAX_ASCII_COMMAND].decode('ascii', 'replace')!r}")
            elif command[0] == "start":
                self._stop_run()
                self._start()
            elif command[0] == "stop":
                self._stop_run()
            elif self._run is not None:
                self._comment("error: stop before changing the rate")
            elif command[1] not in SAMPLE_RATES_HZ:
                self._comment(f"error: rate {command[1]} Hz not supported")
            else:
                self.sample_rate_hz = int(command[1])
                self.samples_per_frame = default_samples_per_frame(self.sample_rate_hz)

    def _comment(self, text: str) -> None:
        self._out.append(OutFrame(f"# {text}\n".encode("ascii", "replace"), "comment", -1, 0, 0))


_KIND = {Ack: "ACK", Nak: "NAK", Info: "INFO", Pong: "PONG", Event: "EVENT"}


def _us(time_s: float) -> int:
    return int(round(time_s * 1e6))


def _check_rate(sample_rate_hz: int) -> None:
    if sample_rate_hz not in SAMPLE_RATES_HZ:
        raise ValueError(f"sample rate {sample_rate_hz} Hz not supported; use one of {', '.join(map(str, SAMPLE_RATES_HZ))}")


def _int32(values: np.ndarray) -> array:  # type: ignore[type-arg]
    out = array("i")
    out.frombytes(np.ascontiguousarray(values, dtype="<i4").tobytes())
    return out


def _data(timestamp_us: int, first_sample: int, chunk: Chunk) -> Data:
    return Data(
        timestamp_us,
        first_sample % (1 << 32),
        _int32(chunk.torque),
        _int32(chunk.position),
        _int32(chunk.velocity),
        chunk.status.tobytes(),
    )
