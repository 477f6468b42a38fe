"""Driver for the ASCII line protocol of existing lab boards (``torque,velocity,position`` lines).

There is no handshake, no checksum and no device clock. With a ``counter`` field the
driver counts lost samples exactly from its jumps; without it, loss inside a
connection cannot be seen (``AcquisitionStats.loss_detection == "none"``) and only
the gap over a reconnect is estimated, from the host clock. A corrupted digit passes
as a wrong value: the binary protocol exists for that. Device time is synthesised
from the sample index at the nominal rate and mapped to host time like the binary
protocol's. The optional ``start``, ``stop`` and ``rate <hz>`` commands are sent unless
``send_commands=False`` (for boards that stream from power-up and echo nothing).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from typing import Any

import numpy as np

from daq.driver import DeviceInfo, Driver
from daq.errors import DeviceUnavailable
from daq.plan import SetPlan
from daq.stream import STOPPED_ON_RECONNECT, ArrayColumns, SampleTimes
from firmware_protocols import AsciiComment, AsciiDecoder, AsciiSample, encode_command

__all__ = ["AsciiDriver"]

log = logging.getLogger(__name__)

#: After ``stop``, the link counts as drained once it has been quiet this long, seconds.
QUIET_S = 0.1


class AsciiDriver(Driver):
    """A board printing ASCII sample lines. See :class:`~daq.driver.Driver` for the common parameters.

    Parameters
    ----------
    send_commands
        Send ``rate``, ``start`` and ``stop`` lines (boards that stream from power-up ignore them).
    """

    protocol = "ascii"

    def __init__(self, url: str, *, send_commands: bool = True, **kwargs: object) -> None:
        super().__init__(url, **kwargs)  # type: ignore[arg-type]
        self.send_commands = send_commands
        self._decoder = AsciiDecoder()
        self._rate_sent = False
        self._synthetic = 0
        self._after_link_loss = False
        self._ignored = 0
        self._counter_seen = False
        self._last_arrival_s = 0.0
        self._discard_partial = False
        self._repeated = 0
        #: the newest lines with a counter: the same line again is a repeat, not a restart
        self._recent: deque[AsciiSample] = deque(maxlen=16)
        self._recent_set: set[AsciiSample] = set()

    def _configure(self, plan: SetPlan) -> None:
        """Set the board's rate: sends ``rate <hz>`` (if commands are on) and uses it for timestamps."""
        if self.send_commands:
            self._write(encode_command("rate", plan.sample_rate_hz))
        self._rate_sent = True

    def _start(self) -> None:
        """Accept sample lines from now on (and send ``start``).

        A board that streams from power-up may have lines on the way, or in the port's
        buffer, sent before it handles ``start``; with commands on, the board is first told
        to ``stop`` and the link drained until quiet (lines meanwhile are ignored, and a
        partial line is discarded), so the first line accepted is the first of the new
        stream: a board that restarts its counter on ``start`` is neither duplicated nor
        shown a gap.
        """
        if self.send_commands:
            self._streaming = False
            self._write(encode_command("stop"))
            self._drain()
            self._discard_partial = True
        self._indexer.restart(None)
        self._recent.clear()  # a new stream: its lines may repeat an old one's counters
        self._recent_set.clear()
        self._start_index = self._indexer.next_index
        self._break_clock()
        self._streaming = True
        if self.send_commands:
            self._write(encode_command("start"))

    def stop(self) -> None:
        """Send ``stop`` and wait until the link is quiet (at most ``command_timeout_s``), then drop further lines.

        When the link is down, the ``stop`` is owed: sent first thing after the reconnect, and the
        stream is not restarted.
        """
        if self.send_commands:
            try:
                self._write(encode_command("stop"))
            except DeviceUnavailable:
                self._stop_owed = True
                self._streaming = False
                raise
            self._drain()
        self._streaming = False

    def _drain(self) -> None:
        """Wait (at most ``command_timeout_s``) until nothing has arrived for a quiet spell since now."""
        quiet = max(QUIET_S, 3.0 / self.sample_rate_hz)
        since = time.monotonic()
        deadline = since + self.command_timeout_s
        while True:
            now = time.monotonic()
            if now >= deadline or now - max(self._last_arrival_s, since) >= quiet:
                return
            time.sleep(quiet / 4)

    # --- template methods ----------------------------------------------------------------------

    def _handshake(self) -> DeviceInfo:
        return DeviceInfo(
            protocol=self.protocol,
            model="",
            serial_number="",
            firmware_version="",
            sample_rates_hz=(self.sample_rate_hz,),
            max_samples_per_frame=1,
            drives_machine=False,
            marker_button=False,
        )

    def _resume(self) -> str:
        if self._stop_owed and self.send_commands:  # the operator stopped while the link was down
            self._write(encode_command("stop"))
            self._stop_owed = False
            return STOPPED_ON_RECONNECT
        if not (self._streaming and self.send_commands):
            return "streaming" if self._streaming else "idle"
        if self._rate_sent:
            self._write(encode_command("rate", self.sample_rate_hz))
        self._write(encode_command("start"))
        return "restarted"

    def _link_lost(self) -> None:
        self._decoder.flush()
        self._after_link_loss = True

    def _feed(self, chunk: bytes, arrival_s: float) -> None:
        self._last_arrival_s = arrival_s
        if self._discard_partial:  # a line begun before the drain belongs to the old stream
            self._discard_partial = False
            self._decoder.flush()
        samples: list[AsciiSample] = []
        for msg in self._decoder.feed(chunk):
            if type(msg) is AsciiSample:
                samples.append(msg)
            elif isinstance(msg, AsciiComment):
                log.info("%s says: %s", self.url, msg.text)
        if not samples:
            return
        if not self._streaming:
            self._ignored += len(samples)
            return
        indexer = self._indexer
        run_first = -1
        run: list[AsciiSample] = []
        recent, recent_set = self._recent, self._recent_set
        for k, s in enumerate(samples):
            if s.counter is not None:
                if s in recent_set:  # the board sent this line again: keep the first copy
                    self._repeated += 1
                    continue
                if len(recent) == recent.maxlen:
                    recent_set.discard(recent[0])
                recent.append(s)
                recent_set.add(s)
            after = indexer.last_index
            counter = s.counter
            if counter is None:
                counter = self._synthetic
                self._synthetic = (self._synthetic + 1) % indexer.modulus
            else:
                self._counter_seen = True
            placed = None if self._after_link_loss and s.counter is None else indexer.place(counter, 1)
            if placed is None:  # no counter across a reconnect, or the board's counter restarted
                est_host_s = arrival_s - (len(samples) - 1 - k) / self.sample_rate_hz
                missing = self._missing_from_host_time(est_host_s)
                index = indexer.resume_after(missing, counter, 1)
                derived = True
            else:
                index, missing = placed
                derived = False
            if missing:
                self._flush_run(run_first, run, arrival_s)
                run = []
                reason = "disconnect" if self._after_link_loss else ("index restart" if derived else "sequence jump")
                if after >= 0:
                    self._publish_gap(after, missing, derived_from_time=derived, reason=reason)
            self._after_link_loss = False
            if not run:
                run_first = index
            run.append(s)
        self._flush_run(run_first, run, arrival_s)

    def _flush_run(self, first_index: int, run: list[AsciiSample], arrival_s: float) -> None:
        if not run:
            return
        n = len(run)
        index = np.arange(first_index, first_index + n, dtype=np.int64)
        device_time_us = np.round(index * (1e6 / self.sample_rate_hz)).astype(np.int64)
        counts = np.array([[s.torque for s in run], [s.position for s in run], [s.velocity for s in run]], dtype=np.int64)
        first_us = int(device_time_us[0])
        columns = ArrayColumns(counts, np.zeros(n, dtype=np.uint8))
        self._publish(first_index, first_us, SampleTimes.of(device_time_us - first_us), columns, 0, arrival_s)

    def _decoder_stats(self) -> dict[str, Any]:
        s = self._decoder.stats
        return {
            "frames": s.lines,
            "bytes_received": s.bytes_received,
            "bytes_discarded": s.bytes_discarded,
            "crc_errors": 0,
            "bad_headers": 0,
            "malformed": s.bad_lines,
            "frames_lost": 0,
            "frames_ignored": self._ignored,
            "frames_repeated": self._repeated,
            "loss_detection": "line counter" if self._counter_seen else "none",
        }
