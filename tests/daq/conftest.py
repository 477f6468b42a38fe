"""A scripted device on a real pseudo-terminal, built only from the protocol codecs.

The driver under test opens the pty's slave through a symlink, exactly as it opens
``isokin sim --pty``; the test decides every byte the device sends. ``hang_up()``
closes the link (the driver reads EIO) and ``come_back()`` makes a new pty and
repoints the symlink, like a USB board unplugged and plugged in again.
"""

from __future__ import annotations

import os
import select
import socket
import threading
import time
import tty
from collections.abc import Iterator
from pathlib import Path

import pytest

from daq.calibration import CalibrationProfile, ChannelCalibration
from firmware_protocols import (
    Ack,
    Capability,
    ChannelInfo,
    ChannelKind,
    Configure,
    Data,
    ErrorCode,
    FrameDecoder,
    FrameEncoder,
    Hello,
    Info,
    Nak,
    Ping,
    Pong,
    Start,
    Stop,
    parse_command,
)

RATES = (100, 1000, 2000)


class PtyDevice:
    """A device the test scripts. Binary: answers HELLO/CONFIGURE/START/STOP/PING/MARKER;
    DATA is sent only when the test calls :meth:`data`. ASCII: records command lines.

    Parameters
    ----------
    link
        Symlink path the driver opens.
    protocol
        ``"binary"`` or ``"ascii"``.
    refuse
        Command type code -> NAK error code to answer with instead of ACK.
    silent
        Never answer (for timeout tests).
    autostream_hz
        If set, after START the device streams DATA by itself at this rate (10 ms frames) until STOP.
    tcp
        Listen on 127.0.0.1 instead of making a pty (``url`` is then ``socket://...``).
    drives_machine
        Whether INFO announces the ``drives machine`` capability.
    """

    def __init__(
        self,
        link: Path,
        *,
        protocol: str = "binary",
        serial_number: str = "TEST-1",
        refuse: dict[int, ErrorCode] | None = None,
        silent: bool = False,
        autostream_hz: int | None = None,
        tcp: bool = False,
        drives_machine: bool = True,
    ) -> None:
        self.link = link
        self.protocol = protocol
        self.serial_number = serial_number
        self.refuse = dict(refuse or {})
        self.silent = silent
        self.autostream_hz = autostream_hz
        self.drives_machine = drives_machine
        self.sent_samples = 0
        #: command type code -> messages the device sends just before answering that command
        self.before_answer: dict[int, list[object]] = {}
        self.encoder = FrameEncoder()
        self.received: list[object] = []
        self.streaming = False
        self.device_time_us = 5_000_000
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._master = -1
        self._slave = -1
        self._server: socket.socket | None = None
        self._conn: socket.socket | None = None
        if tcp:
            self._server = socket.create_server(("127.0.0.1", 0))
            threading.Thread(target=self._accept, daemon=True).start()
        else:
            self._open_pty()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        if self._server is not None:
            return f"socket://127.0.0.1:{self._server.getsockname()[1]}"
        return str(self.link)

    def _accept(self) -> None:
        assert self._server is not None
        conn, _ = self._server.accept()
        with self._lock:
            self._conn = conn
            self._master = conn.fileno()

    def _open_pty(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)
        tmp = self.link.with_name(self.link.name + ".new")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(os.ttyname(slave))
        os.replace(tmp, self.link)
        with self._lock:
            self._master, self._slave = master, slave

    def write(self, data: bytes) -> None:
        with self._lock:
            if self._master >= 0:
                os.write(self._master, data)

    def send(self, message: object, *, only_while_streaming: bool = False) -> bytes:
        """Encode and write one frame (one sequence number per frame, whichever thread sends)."""
        with self._lock:
            if only_while_streaming and not self.streaming:
                return b""
            frame = self.encoder.encode(message)  # type: ignore[arg-type]
            if self._master >= 0:
                os.write(self._master, frame)
            return frame

    def data_frame(self, first_sample: int, n: int, *, torque0: int = 0, timestamp_us: int | None = None,
                   rate_hz: int = 1000) -> Data:
        """A DATA frame with recognisable counts: torque = torque0 + k, position = 2*k, velocity = -k."""
        ts = self.device_time_us + first_sample * 1_000_000 // rate_hz if timestamp_us is None else timestamp_us
        return Data.from_samples(
            ts,
            first_sample % (1 << 32),
            [torque0 + k for k in range(n)],
            [2 * k for k in range(n)],
            [-k for k in range(n)],
            [k % 2 for k in range(n)],
        )

    def data(self, first_sample: int, n: int, **kwargs: int) -> bytes:
        return self.send(self.data_frame(first_sample, n, **kwargs))

    def hang_up(self) -> None:
        """Close the link: the driver's next read fails, and the path is gone until ``come_back``.

        The symlink is removed too, as udev removes a board's node: the closed
        ``/dev/pts/N`` may be reused at once by another test's pty, and a driver retrying
        the old path must not reach that device.
        """
        with self._lock:
            self.link.unlink(missing_ok=True)
            for fd in (self._master, self._slave):
                if fd >= 0:
                    os.close(fd)
            self._master = self._slave = -1

    def come_back(self) -> None:
        """A new pty behind the same symlink."""
        self._open_pty()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        if self._server is not None:
            self._server.close()
            if self._conn is not None:
                self._conn.close()
            return
        self.hang_up()
        self.link.unlink(missing_ok=True)

    def _autostream(self, rate_hz: int) -> None:
        n = rate_hz // 100
        first = 0
        t0 = time.monotonic()
        while self.streaming and not self._stop.is_set():
            if not self.send(self.data_frame(first, n, torque0=first, rate_hz=rate_hz), only_while_streaming=True):
                break
            self.sent_samples += n
            first += n
            delay = t0 + first / rate_hz - time.monotonic()
            if delay > 0:
                time.sleep(delay)

    def commands(self, kind: type) -> list[object]:
        return [m for m in list(self.received) if isinstance(m, kind)]

    def wait_for(self, kind: type, count: int = 1, timeout_s: float = 2.0) -> list[object]:
        deadline = time.monotonic() + timeout_s
        while len(self.commands(kind)) < count and time.monotonic() < deadline:
            time.sleep(0.005)
        return self.commands(kind)

    # --- the device's side of the conversation ----------------------------------------------

    def _serve(self) -> None:
        decoder = FrameDecoder()
        partial = b""
        while not self._stop.is_set():
            master = self._master
            if master < 0:
                time.sleep(0.01)
                continue
            try:
                ready, _, _ = select.select([master], [], [], 0.02)
                if not ready:
                    continue
                chunk = os.read(master, 4096)
            except OSError:
                time.sleep(0.01)
                continue
            if self.protocol == "ascii":
                lines = (partial + chunk).split(b"\n")
                partial = lines.pop()
                self.received.extend(parse_command(line) for line in lines)
                continue
            for seq, msg in decoder.feed(chunk):
                self.received.append(msg)
                if not self.silent:
                    self._answer(seq, msg)

    def _answer(self, seq: int, msg: object) -> None:
        for early in self.before_answer.pop(type(msg).TYPE, []):  # type: ignore[attr-defined]
            self.send(early)
        code = self.refuse.get(type(msg).TYPE)  # type: ignore[attr-defined]
        if isinstance(msg, Configure) and self.streaming:
            code = ErrorCode.NOT_ALLOWED_NOW
        if code is not None:
            self.send(Nak(type(msg).TYPE, seq, code))  # type: ignore[attr-defined]
        elif isinstance(msg, Hello):
            self.send(Info(1, "scripted", self.serial_number, "0.0.1",
                           tuple(ChannelInfo(k, 16) for k in ChannelKind), RATES, 314,
                           Capability.DRIVES_MACHINE if self.drives_machine else 0))
        elif isinstance(msg, Ping):
            self.send(Pong(msg.host_time_us, self.device_time_us))
        else:
            with self._lock:
                if isinstance(msg, Start):
                    self.streaming = True
                elif isinstance(msg, Stop):
                    self.streaming = False
            self.send(Ack(type(msg).TYPE, seq))  # type: ignore[attr-defined]
            if isinstance(msg, Start) and self.autostream_hz:
                threading.Thread(target=self._autostream, args=(self.autostream_hz,), daemon=True).start()


def unit_profile() -> CalibrationProfile:
    """torque = 0.5 * counts + 1, position = counts, velocity = 2 * counts - 3: easy to check."""
    return CalibrationProfile(
        name="unit-test",
        device="scripted",
        torque=ChannelCalibration(0.5, 1.0, "N.m"),
        position=ChannelCalibration(1.0, 0.0, "deg"),
        velocity=ChannelCalibration(2.0, -3.0, "deg/s"),
    )


@pytest.fixture
def make_device(tmp_path: Path) -> Iterator[object]:
    """Factory: ``make_device(**PtyDevice options)``; every device is closed at teardown."""
    made: list[PtyDevice] = []

    def make(**kwargs: object) -> PtyDevice:
        dev = PtyDevice(tmp_path / f"dev{len(made)}", **kwargs)  # type: ignore[arg-type]
        made.append(dev)
        return dev

    yield make
    for dev in made:
        dev.close()


@pytest.fixture
def profile() -> CalibrationProfile:
    return unit_profile()
