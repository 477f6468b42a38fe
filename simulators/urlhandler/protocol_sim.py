"""``sim://``: a simulated device in this process, opened like any serial port.

After :func:`simulators.register_url_handler`::

    port = serial.serial_for_url("sim://?protocol=binary&seed=1&speed=10", timeout=0.1)

Options (all optional; they mirror ``isokin sim``'s flags): ``protocol`` (binary|ascii),
``rate`` (Hz), ``profile`` (a bundled profile's name or a JSON path), ``speed``, ``seed``, ``joint``, ``side``,
``ascii_counter`` (0|1), ``fault_corrupt_rate``, ``fault_drop_rate``,
``fault_disconnect_after`` (s), ``fault_reconnect_delay`` (s), ``fault_drift_ppm``.

The device is "plugged in" on the first open of a URL and runs in a background
pacing thread. Opening the same URL again while it is open fails (exclusive access).
A simulated disconnect makes reads fail; the device keeps running and, after the
reconnect delay, a new open of the same URL reaches the **same** device (same
clock, same sample index), like a USB board that comes back. Closing the port
while the link is up unplugs the device. :attr:`Serial.simulator` (or
:func:`find_session`) gives the :class:`~simulators.session.SimSession` for its
ground truth: ``emitted_log()``, ``truth()``, ``runner.fault_log``.
"""

from __future__ import annotations

import errno
import fcntl
import select
import socket
import struct
import termios
import threading
import time
from urllib.parse import parse_qsl, urlencode, urlsplit

from serial.serialutil import (
    PortNotOpenError,
    SerialBase,
    SerialException,
    SerialTimeoutException,
    Timeout,
)

from simulators.faults import FaultConfig
from simulators.session import SimSession, SimSettings
from simulators.transports import PairEndpoint

__all__ = ["Serial", "find_session", "parse_sim_url"]

_SESSIONS: dict[str, SimSession] = {}
_LOCK = threading.Lock()
_FLOAT = {"speed": "speed", "fault_corrupt_rate": "corrupt_rate", "fault_drop_rate": "drop_rate",
          "fault_disconnect_after": "disconnect_after_s", "fault_reconnect_delay": "reconnect_delay_s",
          "fault_drift_ppm": "drift_ppm"}  # fmt: skip
_OPTIONS = ("protocol", "rate", "profile", "seed", "joint", "side", "ascii_counter", *_FLOAT)


def _canonical(url: str) -> tuple[str, dict[str, str]]:
    parts = urlsplit(url)
    if parts.scheme.lower() != "sim":
        raise ValueError(f"expected a sim:// URL, got {url!r}")
    if parts.netloc or parts.path not in ("", "/"):
        raise ValueError(f"{url!r}: a sim:// URL carries only options, e.g. sim://?seed=1&speed=10")
    options = dict(parse_qsl(parts.query, keep_blank_values=True, strict_parsing=False))
    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        raise ValueError(f"{url!r}: unknown option {unknown[0]!r}; known: {', '.join(_OPTIONS)}")
    return "sim://?" + urlencode(sorted(options.items())), options


def parse_sim_url(url: str) -> SimSettings:
    """The settings a ``sim://`` URL asks for (``ValueError`` on a bad option or value)."""
    _, options = _canonical(url)
    try:
        values = {name: float(options[key]) for key, name in _FLOAT.items() if key in options}
        faults = FaultConfig(
            corrupt_rate=values.get("corrupt_rate", 0.0),
            drop_rate=values.get("drop_rate", 0.0),
            disconnect_after_s=values.get("disconnect_after_s"),
            reconnect_delay_s=values.get("reconnect_delay_s", 1.0),
            drift_ppm=values.get("drift_ppm", 0.0),
            seed=int(options.get("seed", 0)),
        )
        return SimSettings(
            protocol=options.get("protocol", "binary"),
            sample_rate_hz=int(options.get("rate", 1000)),
            profile_path=options.get("profile"),
            speed=values.get("speed", 1.0),
            seed=int(options.get("seed", 0)),
            joint=options.get("joint", "knee"),
            side=options.get("side", "left"),
            ascii_counter=options.get("ascii_counter", "1") not in ("0", "false", "no"),
            faults=faults,
        )
    except ValueError as err:
        raise ValueError(f"{url!r}: {err}") from err


def find_session(url: str) -> SimSession | None:
    """The in-process device behind ``url`` (the latest one, even if unplugged), if any."""
    key, _ = _canonical(url)
    with _LOCK:
        return _SESSIONS.get(key)


class Serial(SerialBase):  # type: ignore[misc]  # SerialBase is untyped
    """A pyserial port on an in-process simulated device (line settings are accepted and ignored)."""

    simulator: SimSession | None = None
    is_open: bool
    _sock: socket.socket | None = None

    def open(self) -> None:
        if self._port is None:
            raise SerialException("Port must be configured before it can be used.")
        if self.is_open:
            raise SerialException("Port is already open.")
        try:
            key, _ = _canonical(self.portstr)
            settings = parse_sim_url(self.portstr)
            with _LOCK:
                session = _SESSIONS.get(key)
                if session is None or not session.running:
                    session = SimSession(settings, PairEndpoint(key))
                    session.start()
                    _SESSIONS[key] = session
        except (ValueError, OSError) as err:
            raise SerialException(f"could not open port {self.portstr}: {err}") from err
        endpoint = session.endpoint
        assert isinstance(endpoint, PairEndpoint)
        deadline = time.monotonic() + 1.0
        while True:  # a freshly started device offers its link within a few ms
            try:
                sock = endpoint.attach()
                break
            except ConnectionRefusedError as err:
                if err.errno == errno.EBUSY or time.monotonic() > deadline or session.runner.disconnects:
                    raise SerialException(f"could not open port {self.portstr}: {err.strerror}") from err
                time.sleep(0.002)
        sock.setblocking(False)
        self._sock, self.simulator = sock, session
        self.is_open = True

    def close(self) -> None:
        if not self.is_open:
            return
        sock, session = self._sock, self.simulator
        self.is_open = False
        self._sock = None
        if sock is not None and session is not None:
            endpoint = session.endpoint
            assert isinstance(endpoint, PairEndpoint)
            current = endpoint.is_current(sock)
            endpoint.detach(sock)
            sock.close()
            if current and session.runner.link_state == "up":
                session.stop()  # unplugged

    def _reconfigure_port(self) -> None:
        """Baud rate, parity and the like mean nothing to a simulated USB board."""

    def _live(self) -> socket.socket:
        if not self.is_open or self._sock is None:
            raise PortNotOpenError()
        return self._sock

    @property
    def in_waiting(self) -> int:
        sock = self._live()
        buf = fcntl.ioctl(sock.fileno(), termios.FIONREAD, b"\0\0\0\0")
        return int(struct.unpack("i", buf)[0])

    def read(self, size: int = 1) -> bytes:
        sock = self._live()
        out = bytearray()
        timeout = Timeout(self._timeout)
        while len(out) < size:
            ready, _, _ = select.select([sock], [], [], timeout.time_left())
            if ready:
                try:
                    chunk = sock.recv(size - len(out))
                except BlockingIOError:
                    chunk = None
                except OSError as err:
                    raise SerialException(f"read failed: {err}") from err
                if chunk == b"":
                    raise SerialException("device disconnected")
                if chunk:
                    out += chunk
            if timeout.expired():
                break
        return bytes(out)

    def write(self, data: bytes | bytearray | memoryview) -> int:
        sock = self._live()
        view = memoryview(bytes(data))
        timeout = Timeout(self._write_timeout)
        while view:
            try:
                n = sock.send(view)
            except BlockingIOError:
                n = 0
            except OSError as err:
                raise SerialException(f"write failed: {err}") from err
            view = view[n:]
            if view:
                if timeout.expired():
                    raise SerialTimeoutException("Write timeout")
                select.select([], [sock], [], timeout.time_left())
        return len(data)

    def reset_input_buffer(self) -> None:
        sock = self._live()
        while select.select([sock], [], [], 0)[0]:
            try:
                if not sock.recv(65536):
                    return  # EOF: the next read reports the disconnect
            except BlockingIOError:
                return

    def reset_output_buffer(self) -> None:
        """Writes go straight to the device: nothing is buffered."""
        self._live()

    def _update_break_state(self) -> None:
        """No break condition on a simulated link."""

    def _update_rts_state(self) -> None:
        """No modem lines on a simulated link."""

    def _update_dtr_state(self) -> None:
        """No modem lines on a simulated link."""

    @property
    def cts(self) -> bool:
        self._live()
        return True

    @property
    def dsr(self) -> bool:
        self._live()
        return True

    @property
    def ri(self) -> bool:
        self._live()
        return False

    @property
    def cd(self) -> bool:
        self._live()
        return True
