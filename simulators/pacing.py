"""The pacing loop: runs a :class:`~simulators.device.SimulatedDevice` in real time over an endpoint.

:class:`DeviceClock` maps ``time.monotonic()`` to device time::

    device_s = (monotonic() - origin) * speed * (1 + drift_ppm * 1e-6)

Each DATA batch is due when its last sample is taken, at an absolute device time
(``start + k / rate``), so sleep errors never accumulate; the loop sleeps in
``select`` until the next batch is due or the host sends something.

:class:`DeviceRunner` owns the loop. It feeds the host's bytes to the device, sends
the device's frames through the :class:`~simulators.faults.FaultInjector`, writes them
without blocking (a bounded backlog; frames beyond it are logged as undelivered, like
a board whose USB buffer is full), and plays the simulated disconnect: at
``disconnect_after_s`` device seconds after streaming first starts, the device stops
sending (frames not yet fully written are cut), lets the host read what is in flight,
closes the link, keeps sampling while it is down (those frames are cut), and after
``reconnect_delay_s`` offers the link again. Every lost frame is in :attr:`DeviceRunner.fault_log`.
"""

from __future__ import annotations

import os
import select
import threading
import time
from collections import deque
from typing import Any

from simulators.device import OutFrame, SimulatedDevice
from simulators.faults import FaultConfig, FaultInjector, FaultLog
from simulators.transports import Endpoint

__all__ = ["DeviceClock", "DeviceRunner", "LINK_STATES"]

#: How long (real seconds) the device waits for the host to read what is in flight before a disconnect.
DRAIN_TIMEOUT_S = 1.0
#: Longest sleep of the loop (real seconds), so a stop request or a schedule change is seen promptly.
_MAX_SLEEP_S = 0.1
_RECENT_BYTES = 1 << 18
#: After a host connects, the device sends no samples for this long (real seconds) unless the
#: host speaks first: hosts flush their input when they open a port (pyserial does), which
#: would silently eat samples the device counts as delivered. Samples of that time are logged.
SETTLE_S = 0.02
LINK_STATES = ("up", "draining", "down")


class DeviceClock:
    """Device time (s) from the monotonic clock, scaled by ``speed`` and drifting by ``drift_ppm``.

    Parameters
    ----------
    speed
        Time-scale factor: 10 runs the device ten times faster than real time.
    drift_ppm
        Clock error of the device, parts per million (timestamps and pacing alike).
    origin
        ``time.monotonic()`` value at device time 0 (default: now).
    """

    def __init__(self, *, speed: float = 1.0, drift_ppm: float = 0.0, origin: float | None = None) -> None:
        if not speed > 0:
            raise ValueError(f"speed must be > 0, got {speed!r}")
        self.speed = speed
        self.drift_ppm = drift_ppm
        self.rate = speed * (1.0 + drift_ppm * 1e-6)
        self.origin = time.monotonic() if origin is None else origin

    def now_s(self) -> float:
        """Current device time, s."""
        return (time.monotonic() - self.origin) * self.rate

    def monotonic_at(self, device_time_s: float) -> float:
        """``time.monotonic()`` value at which the device clock reads ``device_time_s``."""
        return self.origin + device_time_s / self.rate


class DeviceRunner:
    """Run a device on an endpoint in real time (times ``speed``), with faults.

    Parameters
    ----------
    device
        The simulated device.
    endpoint
        Where the host connects (:mod:`simulators.transports`).
    speed
        Time-scale factor of the device clock.
    faults
        Faults to inject (none by default).
    max_backlog_bytes
        Bytes the device holds for a host that does not read before it drops frames.
    """

    def __init__(
        self,
        device: SimulatedDevice,
        endpoint: Endpoint,
        *,
        speed: float = 1.0,
        faults: FaultConfig = FaultConfig(),
        max_backlog_bytes: int = 1 << 20,
    ) -> None:
        self.device = device
        self.endpoint = endpoint
        self.faults = faults
        self.clock = DeviceClock(speed=speed, drift_ppm=faults.drift_ppm)
        self.fault_log = FaultLog()
        self.max_backlog_bytes = max_backlog_bytes
        self.lock = threading.Lock()
        self.link_state = "up"
        self.disconnects = 0
        self._injector = FaultInjector(
            corrupt_rate=faults.corrupt_rate, drop_rate=faults.drop_rate, seed=faults.seed, log=self.fault_log
        )
        self._pending: deque[list[Any]] = deque()  # [remaining bytes (memoryview), frame, bytes sent]
        self._pending_bytes = 0
        self._recent: deque[tuple[OutFrame, int]] = deque()  # fully written frames, newest last
        self._recent_bytes = 0
        self._stop = threading.Event()
        self._pipe_closed = False
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        endpoint.wake = self.wake
        self._generation = endpoint.generation
        self._settle_until = 0.0
        self._disconnect_at: float | None = None
        self._drain_deadline = 0.0
        self._reconnect_at = 0.0

    # --- control from other threads ------------------------------------------------

    def wake(self) -> None:
        """Make the loop look at its endpoint and flags now (thread- and signal-safe)."""
        if self._pipe_closed:
            return
        try:
            os.write(self._wake_w, b"\0")
        except BlockingIOError:
            pass

    def stop(self) -> None:
        """Ask the loop to end (thread- and signal-safe)."""
        self._stop.set()
        self.wake()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    # --- the loop ---------------------------------------------------------------------

    def run(self, *, duration_s: float | None = None) -> None:
        """Run until :meth:`stop` (or ``duration_s`` real seconds); closes the endpoint at the end."""
        deadline = None if duration_s is None else time.monotonic() + duration_s
        self.endpoint.link_up()
        try:
            while not self._stop.is_set():
                if deadline is not None and time.monotonic() >= deadline:
                    break
                with self.lock:
                    self._step()
                self._wait(deadline)
        finally:
            with self.lock:
                for _, frame, _ in self._pending:
                    self.fault_log.add(frame, "undelivered")
                self._pending.clear()
                if self.link_state == "up":
                    self._cut_unread(self.endpoint.unread_bytes() or 0, fate="undelivered")
                self.endpoint.close()
            self._stop.set()
            self._pipe_closed = True
            os.close(self._wake_r)
            os.close(self._wake_w)

    def _step(self) -> None:
        now = self.clock.now_s()
        self._schedule(now)
        if self.link_state == "up" and self.endpoint.connected and self.endpoint.generation != self._generation:
            self._generation = self.endpoint.generation
            self._settle_until = time.monotonic() + SETTLE_S
        frames = self.device.produce_frames(now)
        if self._disconnect_at is None and self.faults.disconnect_after_s is not None and self.disconnects == 0:
            if self.device.streaming:
                self._disconnect_at = now + self.faults.disconnect_after_s
        if frames:
            self._dispatch(frames)
        self._write()

    def _schedule(self, now: float) -> None:
        if self.link_state == "up" and self._disconnect_at is not None and now >= self._disconnect_at:
            self._disconnect_at = None
            self.disconnects += 1
            self.link_state = "draining"
            for _, frame, _ in self._pending:
                self.fault_log.add(frame, "cut")
            self._pending.clear()
            self._pending_bytes = 0
            self.endpoint.begin_drop()
            self._drain_deadline = time.monotonic() + DRAIN_TIMEOUT_S
        if self.link_state == "draining" and (self.endpoint.drained() or time.monotonic() >= self._drain_deadline):
            self._cut_unread(self.endpoint.finish_drop())
            self.link_state = "down"
            self._reconnect_at = now + self.faults.reconnect_delay_s
        if self.link_state == "down" and now >= self._reconnect_at:
            self.endpoint.link_up()
            self.link_state = "up"

    def _dispatch(self, frames: list[OutFrame]) -> None:
        if self.link_state != "up":
            for frame in frames:
                self.fault_log.add(frame, "cut")
            return
        if not self.endpoint.connected or time.monotonic() < self._settle_until:
            fate = "cut" if self.disconnects else "undelivered"
            for frame in frames:
                self.fault_log.add(frame, fate)
            return
        for frame, data in zip(frames, self._injector.apply(frames)):
            if self._pending_bytes + len(data) > self.max_backlog_bytes:
                self.fault_log.add(frame, "undelivered")
                continue
            self._pending.append([memoryview(data), frame, len(data)])
            self._pending_bytes += len(data)

    def _write(self) -> None:
        while self._pending and self.endpoint.connected:
            item = self._pending[0]
            n = self.endpoint.write(item[0])
            if n is None:  # the host went away
                self._host_gone()
                return
            self._pending_bytes -= n
            item[0] = item[0][n:]
            if len(item[0]):
                return  # would block
            self._pending.popleft()
            self._remember(item[1], item[2])

    def _remember(self, frame: OutFrame, nbytes: int) -> None:
        self._recent.append((frame, nbytes))
        self._recent_bytes += nbytes
        while self._recent_bytes > _RECENT_BYTES:
            self._recent_bytes -= self._recent.popleft()[1]

    def _cut_unread(self, unread: int, *, fate: str = "cut") -> None:
        """Log the frames whose bytes were still unread when the link closed."""
        while unread > 0 and self._recent:
            frame, n = self._recent.pop()
            self.fault_log.add(frame, fate)
            unread -= n
        self._recent.clear()
        self._recent_bytes = 0

    def _host_gone(self) -> None:
        for _, frame, _ in self._pending:
            self.fault_log.add(frame, "undelivered")
        self._pending.clear()
        self._pending_bytes = 0
        self.endpoint.host_closed()

    def _wait(self, deadline: float | None) -> None:
        with self.lock:
            due = self.device.next_due_s()
            targets = [time.monotonic() + _MAX_SLEEP_S]
            if due is not None:
                targets.append(self.clock.monotonic_at(due))
            if self.link_state == "up" and self._disconnect_at is not None:
                targets.append(self.clock.monotonic_at(self._disconnect_at))
            elif self.link_state == "draining":
                targets.append(time.monotonic() + 0.005)
            if self.endpoint.waiting_for_host:
                targets.append(time.monotonic() + 0.005)
            elif self.link_state == "down":
                targets.append(self.clock.monotonic_at(self._reconnect_at))
            if deadline is not None:
                targets.append(deadline)
            conn = self.endpoint.connection_fd()
            readers = [self._wake_r, *self.endpoint.listen_fds()]
            if conn is not None:
                readers.append(conn)
            writers = [conn] if conn is not None and self._pending else []
        timeout = max(0.0, min(targets) - time.monotonic())
        readable, _, _ = select.select(readers, writers, [], timeout)
        for fd in readable:
            if fd == self._wake_r:
                _drain_pipe(fd)
        with self.lock:
            for fd in readable:
                if fd == self._wake_r:
                    continue
                if fd == conn:
                    self._read_host()
                else:
                    self.endpoint.accept(fd)

    def _read_host(self) -> None:
        data = self.endpoint.read()
        if data is None:
            return
        if not data:
            self._host_gone()
        elif self.link_state == "up":  # while the link goes down, the host's bytes are lost
            # the host speaks, so it has opened its port and will not flush it any more
            self._generation, self._settle_until = self.endpoint.generation, 0.0
            self.device.receive(data, device_time_s=self.clock.now_s())


def _drain_pipe(fd: int) -> None:
    try:
        while os.read(fd, 4096):
            pass
    except BlockingIOError:
        pass
