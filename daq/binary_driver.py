"""Driver for binary protocol version 1 (``firmware_protocols/PROTOCOL.md``).

Commands are answered by ACK/NAK naming their sequence number (HELLO by INFO, PING
by PONG): a missing answer is :class:`~daq.errors.DeviceTimeout`, a NAK is
:class:`~daq.errors.DeviceRefused` carrying the error code. Lost samples are
counted exactly from the jump in DATA's ``first_sample``; lost frames of any type
from the frame sequence.

Reconnect (agreed with the simulator): after reopening, HELLO must return the same
serial number. Then CONFIGURE is sent again: a device that kept streaming refuses it
(``NOT_ALLOWED_NOW``) and the stream simply continues, the gap counted from
``first_sample``; an idle device accepts it. A board that only samples is then STARTed
again, and the gap is derived from the device timestamps
(``round((t_first_new - t_last_old) * rate / 1e6) - 1``); a device that was driving a set
is not (its set ended, or it reset, while the link was down: restarting would run a new
set from wherever the lever is), and the reconnect reports :data:`SET_ENDED`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from daq.data_frames import DataColumns
from daq.driver import DeviceInfo, Driver, WrongDevice
from daq.errors import DeviceRefused, DeviceTimeout, DeviceUnavailable
from daq.plan import SetPlan
from daq.stream import SET_ENDED, STOPPED_ON_RECONNECT, DeviceEvent, SampleTimes
from firmware_protocols import (
    Ack,
    Capability,
    ChannelKind,
    Configure,
    DataRun,
    ErrorCode,
    Event,
    EventCode,
    FrameDecoder,
    FrameEncoder,
    Hello,
    Info,
    Marker,
    Nak,
    Ping,
    Pong,
    Start,
    Stop,
)

__all__ = ["BinaryDriver", "PingResult", "count_range"]

log = logging.getLogger(__name__)

_SEQ_MOD = 1 << 32
#: Largest device clock reading accepted, us (about 146,000 years: anything above is a damaged frame).
_MAX_TIMESTAMP_US = 1 << 62
#: A device timestamp further than this (or two sample periods) from where the sample index puts it is a clock jump, us.
_CLOCK_SLACK_US = 2000
#: DATA frames remembered to recognise a repeat.
RECENT_FRAMES = 64


def count_range(adc_bits: int) -> tuple[int, int]:
    """The counts a channel of ``adc_bits`` bits can send: signed, centred or unipolar raw counts.

    A count outside ``-2**(bits-1) .. 2**bits - 1`` cannot come from the ADC (PROTOCOL.md, DATA):
    the frame is damaged despite its CRC. 32 bits or more (or 0: unknown) admit every int32.
    """
    if adc_bits <= 0 or adc_bits >= 32:
        return -(1 << 31), (1 << 31) - 1
    return -(1 << (adc_bits - 1)), (1 << adc_bits) - 1


@dataclass(frozen=True)
class PingResult:
    """A PING/PONG exchange: round trip (s), the device clock when the PING arrived (us),
    and the host time half-way through the round trip (s, monotonic clock)."""

    round_trip_s: float
    device_time_us: int
    host_time_s: float


@dataclass(eq=False)
class _Pending:
    """The one command waiting for its answer."""

    command: Hello | Configure | Start | Stop | Ping | Marker
    sequence: int = -1
    on_ack: Callable[[], None] | None = None
    attempt: int = 0
    reply: Ack | Nak | Info | Pong | None = None
    done: threading.Event = field(default_factory=threading.Event)

    def matches(self, msg: Ack | Nak | Info | Pong) -> bool:
        code = self.command.TYPE
        if isinstance(msg, Ack):
            return msg.acked_type == code and msg.acked_sequence == self.sequence
        if isinstance(msg, Nak):
            return msg.refused_type == code and msg.refused_sequence == self.sequence
        if isinstance(msg, Info):  # INFO names no sequence: any INFO answers the pending HELLO
            return code == Hello.TYPE
        return isinstance(self.command, Ping) and msg.host_time_us == self.command.host_time_us


class BinaryDriver(Driver):
    """A device speaking binary protocol version 1. See :class:`~daq.driver.Driver` for the parameters."""

    protocol = "binary"

    def __init__(self, url: str, **kwargs: object) -> None:
        super().__init__(url, **kwargs)  # type: ignore[arg-type]
        self._decoder = FrameDecoder()
        self._encoder = FrameEncoder()
        self._command_lock = threading.Lock()
        self._pending: _Pending | None = None
        self._config: Configure | None = None
        self._frame_next: int | None = None
        self._frames_lost = 0
        self._frames_ignored = 0
        self._frames_lost_since_data = 0  # frames lost since the last DATA received: a loss at the very end
        self._after_link_loss = False
        self._derive_next_gap = False
        self._last_first_index = 0
        self._last_first_sample = 0
        #: samples per frame -> the samples' device times from the frame's timestamp
        self._times: dict[int, SampleTimes] = {}
        self._frames_repeated = 0
        self._frames_malformed = 0
        self._malformed_tail = 0  # samples of malformed DATA dropped since the last frame placed
        self._clock_jump_logged = False
        self._malformed_logged = False
        self._dropped_malformed = False
        #: (first_sample, timestamp_us) of the newest DATA frames: a repeat is dropped
        self._recent: deque[tuple[int, int]] = deque(maxlen=RECENT_FRAMES)
        self._recent_keys: set[tuple[int, int]] = set()
        #: per channel (torque, position, velocity): the counts its ADC can produce
        self._count_ranges: tuple[tuple[int, int], ...] = ((-(1 << 31), (1 << 31) - 1),) * 3

    # --- commands -------------------------------------------------------------------------

    def _configure(self, plan: SetPlan) -> None:
        """Send CONFIGURE: rate and batch size, and when driving the mode, velocities, range and repetitions.

        A NAK (``UNSUPPORTED_RATE``, ``BAD_VALUE``, ``NOT_ALLOWED_NOW`` while streaming) is
        :class:`~daq.errors.DeviceRefused`.
        """
        config = plan.configure_message()
        self._command(config, retries=1)
        self._config = config
        self._times.clear()

    def _start(self) -> None:
        """START streaming (CONFIGUREs the driver's ``sample_rate_hz`` first if not configured yet)."""
        if self._config is None:
            self.configure(SetPlan(self.sample_rate_hz))
        # A lost ACK is retried: a repeated START restarts the index at 0, harmless before recording
        # begins (DATA before the ACK that counts is ignored, as not yet streaming).
        self._command(Start(), retries=2, on_ack=self._started)

    def stop(self) -> None:
        """STOP; when it returns, every sample the device sent before its ACK has been handed out.

        When the device cannot be reached (the link is down, or it does not answer), the STOP is
        owed: it is sent first thing when the device answers again, and the stream is not
        resumed, so a set the operator stopped never goes on by itself after a reconnect.
        """
        try:
            self._command(Stop(), retries=2, on_ack=self._stopped)
        except (DeviceUnavailable, DeviceTimeout):
            self._stop_owed = True
            self._streaming = False
            raise

    def ping(self) -> PingResult:
        """Exchange PING/PONG: round trip and the device clock."""
        sent = time.monotonic()
        pong = self._command(Ping(int(sent * 1e6)), retries=1)
        back = time.monotonic()
        assert isinstance(pong, Pong)
        return PingResult(back - sent, pong.device_time_us, (sent + back) / 2)

    def marker(self, marker_id: int) -> None:
        """Ask the device to insert a MARKER_HOST event at the current sample."""
        self._command(Marker(marker_id))

    def _started(self) -> None:  # reader thread, on START's ACK, before any DATA of the new stream
        self._streaming = True
        self._malformed_tail = 0
        self._recent.clear()  # a new stream: its frames may repeat an old one's numbers, never its frames
        self._recent_keys.clear()
        self._indexer.restart(0)
        self._start_index = self._indexer.next_index
        self._last_first_index, self._last_first_sample = self._indexer.next_index, 0
        self._break_clock()

    def _stopped(self) -> None:  # reader thread, on STOP's ACK, after the last DATA
        if self._streaming and self._malformed_tail:
            # Malformed DATA dropped after the last good frame: no later frame shows its index jump.
            self._publish_gap(self._indexer.last_index, self._malformed_tail, derived_from_time=False,
                              reason="malformed frame dropped")  # fmt: skip
            self._malformed_tail = 0
        if self._streaming:
            # Frames lost between the last frame received and this ACK: DATA lost at the very end
            # shows no later index jump, so say so here (an earlier attempt's ACK may be one of them).
            pending = self._pending
            frames = self._frames_lost_since_data - (pending.attempt if pending is not None else 0)
            if frames > 0:
                self._publish_gap(
                    self._indexer.last_index,
                    0,
                    derived_from_time=False,
                    reason=f"{frames} frame{'s' if frames > 1 else ''} lost before STOP's ACK; sample count unknown",
                    frames_lost=frames,
                )
        self._streaming = False

    def _restarted(self) -> None:  # reader thread: the device was idle after a reconnect
        self._started()
        self._derive_next_gap = True

    def _command(
        self,
        message: Hello | Configure | Start | Stop | Ping | Marker,
        *,
        retries: int = 0,
        on_ack: Callable[[], None] | None = None,
    ) -> Ack | Info | Pong:
        name = type(message).__name__.upper()
        with self._command_lock:
            for attempt in range(retries + 1):
                pending = _Pending(message, on_ack=on_ack, attempt=attempt)
                with self._write_lock:
                    pending.sequence = self._encoder.sequence
                    self._pending = pending
                    try:
                        self._write_locked(self._encoder.encode(message))
                    except BaseException:
                        self._pending = None
                        raise
                try:
                    if self._in_reader_thread():
                        self._pump(pending.done.is_set, self.command_timeout_s)
                    else:
                        pending.done.wait(self.command_timeout_s)
                finally:
                    self._pending = None
                reply = pending.reply
                if reply is None:
                    continue
                if isinstance(reply, Nak):
                    raise DeviceRefused(f"{self.url} refused {name}: {reply.error.name}", int(reply.error))
                return reply
        raise DeviceTimeout(f"no answer to {name} from {self.url} within {self.command_timeout_s:g} s")

    # --- template methods ------------------------------------------------------------------

    def _handshake(self) -> DeviceInfo:
        info = self._command(Hello(), retries=1)
        assert isinstance(info, Info)
        self._command(Stop(), retries=2)  # a stream left running by an earlier session would refuse CONFIGURE
        bits = {int(ch.kind): ch.adc_bits for ch in info.channels}
        self._count_ranges = tuple(
            count_range(bits.get(int(kind), 32)) for kind in (ChannelKind.TORQUE, ChannelKind.POSITION, ChannelKind.VELOCITY)
        )
        return DeviceInfo(
            protocol=self.protocol,
            model=info.model,
            serial_number=info.serial_number,
            firmware_version=info.firmware_version,
            sample_rates_hz=tuple(info.sample_rates_hz),
            max_samples_per_frame=info.max_samples_per_frame,
            drives_machine=bool(info.capabilities & Capability.DRIVES_MACHINE),
            marker_button=bool(info.capabilities & Capability.MARKER_BUTTON),
        )

    def _resume(self) -> str:
        info = self._command(Hello(), retries=1)
        assert isinstance(info, Info)
        if self.info is not None and info.serial_number != self.info.serial_number:
            raise WrongDevice(
                f"{self.url}: device {info.serial_number!r} answered after the reconnect, "
                f"not {self.info.serial_number!r}: stopping"
            )
        if self._stop_owed:  # the operator stopped while the link was down: say it now, resume nothing
            self._command(Stop(), retries=2)
            self._stop_owed = False
            return STOPPED_ON_RECONNECT
        if not self._streaming or self._config is None:
            return "idle"
        try:
            self._command(self._config, retries=1)
        except DeviceRefused as err:
            if err.code == ErrorCode.NOT_ALLOWED_NOW:
                return "streaming"  # it kept streaming: DATA's first_sample counts the gap
            raise
        if self.plan is not None and self.plan.drive:
            # Idle: the set it drove ended (or it reset) while the link was down. A set is never
            # restarted behind the operator's back (the lever could be anywhere): the stream ends here.
            self._streaming = False
            return SET_ENDED
        self._command(Start(), retries=2, on_ack=self._restarted)
        return "restarted"

    def _link_lost(self) -> None:
        self._decoder.flush()
        self._after_link_loss = True

    def _feed(self, chunk: bytes, arrival_s: float) -> None:
        for item in self._decoder.feed_runs(chunk):
            if isinstance(item, DataRun):
                self._on_data_run(item, arrival_s)
                continue
            sequence, msg = item
            self._count_frame(sequence)
            kind = type(msg)
            try:
                if kind is Event:
                    self._on_event(msg)  # type: ignore[arg-type]
                elif kind in (Ack, Nak, Info, Pong):
                    pending = self._pending
                    if pending is not None and pending.matches(msg):  # type: ignore[arg-type]
                        if kind is Ack and pending.on_ack is not None:
                            pending.on_ack()
                        pending.reply = msg  # type: ignore[assignment]
                        pending.done.set()
            except Exception:  # hostile or broken input must not end the stream: count it and go on
                self._frame_failed()

    def _count_frame(self, sequence: int) -> None:
        """Count the frames lost before this one, from the frame sequence."""
        expected = self._frame_next
        if expected is not None:
            lost = (sequence - expected) % _SEQ_MOD
            if lost < _SEQ_MOD // 2:
                self._frames_lost += lost
                self._frames_lost_since_data += lost
        self._frame_next = (sequence + 1) % _SEQ_MOD

    def _frame_failed(self) -> None:
        self._frames_malformed += 1
        self._dropped_malformed = True
        if not self._malformed_logged:
            self._malformed_logged = True
            log.exception("%s: a frame could not be handled; it is counted as malformed (logged once)", self.url)

    def _on_data_run(self, run: DataRun, arrival_s: float) -> None:
        """The DATA frames of a run, in order, each as :meth:`_on_data`."""
        columns = DataColumns(run)
        out_of_range: list[bool] | None = None
        for k, (sequence, timestamp_us, first_sample) in enumerate(columns.headers):
            self._count_frame(sequence)
            self._frames_lost_since_data = 0  # a loss before it shows as its index jump
            try:
                if not self._streaming:
                    self._frames_ignored += 1  # a stream left running by an earlier session
                    continue
                if out_of_range is None:
                    out_of_range = columns.out_of_range(self._count_ranges)
                self._on_data(timestamp_us, first_sample, columns, k, out_of_range[k], arrival_s)
            except Exception:  # hostile or broken input must not end the stream: count it and go on
                self._frame_failed()

    def _on_data(
        self, timestamp_us: int, first_sample: int, columns: DataColumns, k: int, out_of_range: bool, arrival_s: float
    ) -> None:
        """Frame ``k`` of a run, while streaming: drop a repeat or a damaged frame, place it, publish it."""
        key = (first_sample, timestamp_us)
        if key in self._recent_keys:  # the device sent this frame again: keep the first copy
            self._frames_repeated += 1
            return
        n = columns.samples_per_frame
        if timestamp_us >= _MAX_TIMESTAMP_US:  # no device clock runs that long: a damaged frame
            self._drop_malformed(n)
            return
        if out_of_range:  # a count impossible for the channel's ADC: a damaged frame
            self._drop_malformed(n)
            return
        times = self._times.get(n)
        if times is None:
            times = self._times[n] = SampleTimes.of(np.round(np.arange(n) * (1e6 / self.sample_rate_hz)).astype(np.int64))
        indexer = self._indexer
        after = indexer.last_index
        if self._derive_next_gap:
            first_index = self._resume_after_restart(timestamp_us, first_sample, n, arrival_s, "disconnect")
            self._derive_next_gap = False
        else:
            placed = indexer.place(first_sample, n)
            if placed is None:
                self._break_clock()
                first_index = self._resume_after_restart(timestamp_us, first_sample, n, arrival_s, "index restart")
            else:
                first_index, missing = placed
                self._check_clock(timestamp_us, first_index, after)
                if missing:
                    if self._after_link_loss:
                        reason = "disconnect"
                    elif self._dropped_malformed:
                        reason = "malformed frame dropped"
                    else:
                        reason = "sequence jump"
                    self._publish_gap(after, missing, derived_from_time=False, reason=reason)
        self._after_link_loss = False
        self._dropped_malformed = False
        self._malformed_tail = 0
        self._last_first_index, self._last_first_sample = first_index, first_sample
        recent = self._recent
        if len(recent) == recent.maxlen:
            self._recent_keys.discard(recent[0])
        recent.append(key)
        self._recent_keys.add(key)
        self._publish(first_index, timestamp_us, times, columns, k, arrival_s)

    def _drop_malformed(self, samples: int) -> None:
        """A DATA frame that breaks the protocol: counted, dropped; its samples show as a gap (at the end too)."""
        self._frames_malformed += 1
        self._dropped_malformed = True
        self._malformed_tail += samples

    def _check_clock(self, timestamp_us: int, first_index: int, after: int) -> None:
        """A device timestamp that disagrees with the sample index (a glitch, a clock reset) starts a new clock
        segment, so the fit is not bent by it; the recording places the segment by the index (``daq.recorder``).

        ``after`` is the index of the last sample before this frame's first (``first_index``).
        """
        last_us = self._last_device_time_us
        if last_us is None or after < 0:
            return
        period_us = 1e6 / self.sample_rate_hz
        expected_us = last_us + (first_index - after) * period_us
        if abs(timestamp_us - expected_us) > max(_CLOCK_SLACK_US, 2 * period_us):
            if not self._clock_jump_logged:
                self._clock_jump_logged = True
                log.warning(
                    "%s: the device clock jumped by %.6f s at sample %d; a new clock segment starts (logged once)",
                    self.url, (timestamp_us - expected_us) / 1e6, first_index,
                )  # fmt: skip
            self._break_clock()

    def _resume_after_restart(self, timestamp_us: int, first_sample: int, n: int, arrival_s: float, reason: str) -> int:
        """The device counter restarted: count the missing samples from time, then continue."""
        after = self._indexer.last_index
        last_t = self._last_device_time_us
        if last_t is not None and timestamp_us > last_t:
            missing = max(0, round((timestamp_us - last_t) * self.sample_rate_hz / 1e6) - 1)
        else:  # the device clock restarted too: only the host clock is left
            missing = self._missing_from_host_time(arrival_s - (n - 1) / self.sample_rate_hz)
        first_index = self._indexer.resume_after(missing, first_sample, n)
        if after >= 0:
            self._publish_gap(after, missing, derived_from_time=True, reason=reason)
        return first_index

    def _on_event(self, msg: Event) -> None:
        delta = (msg.sample_index - self._last_first_sample) % _SEQ_MOD
        if delta >= _SEQ_MOD // 2:
            delta -= _SEQ_MOD
        if msg.code == EventCode.SET_COMPLETE and self._streaming:
            # Its sample_index is the set's last sample: samples lost at the very end are counted here.
            last = self._last_first_index + delta
            after = self._indexer.last_index
            if last > after:
                self._publish_gap(after, last - after, derived_from_time=False, reason="end of set")
                self._indexer.next_index = last + 1
            self._streaming = False  # the device stops as if it had received STOP
        self._emit(DeviceEvent(self._last_first_index + delta, msg.timestamp_us, int(msg.code), msg.code.name, msg.value))

    def _decoder_stats(self) -> dict[str, Any]:
        s = self._decoder.stats
        return {
            "frames": s.frames,
            "bytes_received": s.bytes_received,
            "bytes_discarded": s.bytes_discarded,
            "crc_errors": s.crc_errors,
            "bad_headers": s.bad_headers,
            "malformed": s.malformed_payloads + s.unknown_types + s.unsupported_versions + self._frames_malformed,
            "frames_lost": self._frames_lost,
            "frames_ignored": self._frames_ignored,
            "frames_repeated": self._frames_repeated,
            "loss_detection": "sample index",
        }
