"""Where a host connects to the simulated device: a pseudo-terminal, a TCP port, or an in-process socket.

An :class:`Endpoint` gives the pacing loop (:mod:`simulators.pacing`) one non-blocking
connection to the host at a time, and plays the link side of a simulated disconnect:
:meth:`~Endpoint.begin_drop`, then :meth:`~Endpoint.drained` until the host has read
what is in flight, then :meth:`~Endpoint.finish_drop` (which says how many bytes were
still unread) and later :meth:`~Endpoint.link_up` again.

- :class:`PtyEndpoint`: a pseudo-terminal in raw mode, reached through a stable symlink
  (default ``/tmp/isokin-sim-<pid>``) that points at the current ``/dev/pts/N``. A
  disconnect closes the pty (the host's reads fail, as when a USB board is unplugged)
  and removes the symlink; the link comes back as a **new** pty and the symlink is
  created again atomically, so the host reopens the same path.
- :class:`TcpEndpoint`: a server on ``127.0.0.1:PORT`` (``socket://127.0.0.1:PORT``),
  one client at a time (later ones are closed at once). A disconnect closes the
  client and stops listening; the link comes back listening on the same port.
- :class:`PairEndpoint`: one end of a socket pair per host connection, for the
  in-process ``sim://`` URL (:mod:`simulators.urlhandler`).
"""

from __future__ import annotations

import errno
import fcntl
import os
import select
import socket
import struct
import termios
import threading
import time
import tty
from abc import ABC, abstractmethod
from collections.abc import Callable

__all__ = ["Endpoint", "PairEndpoint", "PtyEndpoint", "TcpEndpoint", "default_link_path"]

_GONE = (errno.EIO, errno.EPIPE, errno.ECONNRESET, errno.EBADF, errno.ENOTCONN)


def default_link_path() -> str:
    """``/tmp/isokin-sim-<pid>``: the default symlink of the pseudo-terminal."""
    return f"/tmp/isokin-sim-{os.getpid()}"


class Endpoint(ABC):
    """One host connection at a time, non-blocking, with a link that can be dropped and restored."""

    #: Called (from any thread) when the endpoint wants the loop's attention; set by the runner.
    wake: Callable[[], None] = staticmethod(lambda: None)
    #: Counts host connections: +1 each time a host connects.
    generation: int = 0

    @property
    @abstractmethod
    def url(self) -> str:
        """What a host opens (a path or a URL)."""

    @abstractmethod
    def link_up(self) -> None:
        """Offer the link (first start, and after a simulated disconnect)."""

    @abstractmethod
    def connection_fd(self) -> int | None:
        """File descriptor of the current host connection, ``None`` when none."""

    @property
    def connected(self) -> bool:
        """True when a host connection can take bytes."""
        return self.connection_fd() is not None

    def listen_fds(self) -> list[int]:
        """Further descriptors to watch for readability (e.g. a listening socket)."""
        return []

    def accept(self, fd: int) -> None:  # noqa: B027 - optional hook: most endpoints listen on nothing
        """One of :meth:`listen_fds` is readable."""

    @abstractmethod
    def read(self) -> bytes | None:
        """Bytes from the host: ``None`` when none are ready, ``b""`` when the host went away."""

    @abstractmethod
    def write(self, data: memoryview) -> int | None:
        """Write what the connection takes now; bytes written, or ``None`` when the host went away."""

    @abstractmethod
    def host_closed(self) -> None:
        """The host went away: forget its connection."""

    @abstractmethod
    def begin_drop(self) -> None:
        """Start a simulated disconnect: nothing more will be written."""

    @abstractmethod
    def drained(self) -> bool:
        """True once the host has read what was written (or cannot any more)."""

    @abstractmethod
    def finish_drop(self) -> int:
        """Close the link; the number of written bytes the host never read."""

    @abstractmethod
    def close(self) -> None:
        """Close everything (end of the simulation)."""

    def unread_bytes(self) -> int | None:
        """Bytes written that the host has not read yet, ``None`` when the system cannot tell."""
        return 0

    @property
    def waiting_for_host(self) -> bool:
        """True when the loop must poll for a host to connect (no descriptor to watch)."""
        return False


def _os_read(fd: int) -> bytes | None:
    try:
        return os.read(fd, 65536)
    except BlockingIOError:
        return None
    except OSError as err:
        if err.errno in _GONE:
            return b""
        raise


def _os_write(fd: int, data: memoryview) -> int | None:
    try:
        return os.write(fd, data)
    except BlockingIOError:
        return 0
    except OSError as err:
        if err.errno in _GONE:
            return None
        raise


class PtyEndpoint(Endpoint):
    """A pseudo-terminal reached through a symlink that always points at the live pty.

    The device holds only the pty's master side, so it sees when a host has the
    slave open (the master stops reporting a hang-up) and when it closes it.

    Parameters
    ----------
    link_path
        Path of the symlink (default :func:`default_link_path`); an existing file
        there that is not a symlink is refused.
    """

    def __init__(self, *, link_path: str | None = None) -> None:
        self.link_path = link_path or default_link_path()
        if os.path.lexists(self.link_path) and not os.path.islink(self.link_path):
            raise FileExistsError(f"{self.link_path} exists and is not a symlink; choose another --link")
        self._master: int | None = None
        self._poll = select.poll()
        self._host = False
        self._drop_started = 0.0
        self._empty_since: float | None = None
        self.slave_name = ""

    @property
    def url(self) -> str:
        return self.link_path

    def link_up(self) -> None:
        if self._master is not None:
            return
        master, slave = os.openpty()
        tty.setraw(slave)  # the settings stay with the pty for the host to find
        self.slave_name = os.ttyname(slave)
        os.close(slave)
        os.set_blocking(master, False)
        self._master, self._host = master, False
        self._poll = select.poll()
        self._poll.register(master, select.POLLIN)
        tmp = f"{self.link_path}.{os.getpid()}.tmp"
        if os.path.lexists(tmp):
            os.unlink(tmp)
        os.symlink(self.slave_name, tmp)
        os.replace(tmp, self.link_path)

    def connection_fd(self) -> int | None:
        if self._master is not None and not self._host:
            if not any(ev & select.POLLHUP for _, ev in self._poll.poll(0)):
                self._host = True
                self.generation += 1
        return self._master if self._host else None

    @property
    def waiting_for_host(self) -> bool:
        return self._master is not None and self.connection_fd() is None

    def read(self) -> bytes | None:
        assert self._master is not None
        return _os_read(self._master)

    def write(self, data: memoryview) -> int | None:
        assert self._master is not None
        return _os_write(self._master, data)

    def host_closed(self) -> None:
        self._host = False

    def begin_drop(self) -> None:
        """Nothing to send any more; the host reads what is in flight, and cannot reopen this pty."""
        self._drop_started = time.monotonic()
        self._empty_since = None
        self._unlink()

    def unread_bytes(self) -> int | None:
        """Bytes in the pty's line discipline not read by the host yet; ``None`` when unknown.

        Counted through a short-lived descriptor of the slave side, which a host
        holding the port with exclusive access (TIOCEXCL) may refuse. Linux also holds
        a few kilobytes in the tty's flip buffers, which no ioctl shows, while the line
        discipline is full: the count is exact for a host that keeps reading.
        """
        if self._master is None or not self._host:
            return 0
        try:
            fd = os.open(self.slave_name, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        except OSError:
            return None
        try:
            buf = fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0")
        finally:
            os.close(fd)
        return int(struct.unpack("i", buf)[0])

    def drained(self) -> bool:
        """True once the pty stayed empty for 10 ms (or 50 ms passed when its fill is unknown)."""
        now = time.monotonic()
        unread = self.unread_bytes()
        if unread is None:
            return now - self._drop_started >= 0.05
        if unread:
            self._empty_since = None
            return False
        if self._empty_since is None:
            self._empty_since = now
        return now - self._empty_since >= 0.01

    def finish_drop(self) -> int:
        unread = self.unread_bytes() or 0
        self._close_pty()
        return unread

    def close(self) -> None:
        self._close_pty()

    def _unlink(self) -> None:
        try:
            if os.path.islink(self.link_path) and os.readlink(self.link_path) == self.slave_name:
                os.unlink(self.link_path)
        except OSError:
            pass

    def _close_pty(self) -> None:
        if self._master is None:
            return
        self._unlink()
        os.close(self._master)
        self._master, self._host = None, False


class _SocketEndpoint(Endpoint):
    """Common part of the socket endpoints: one client socket at a time."""

    def __init__(self) -> None:
        self._client: socket.socket | None = None
        self._dropping = False
        self._peer_closed = False

    def connection_fd(self) -> int | None:
        return None if self._client is None else self._client.fileno()

    @property
    def connected(self) -> bool:
        return self._client is not None and not self._dropping

    def _set_client(self, sock: socket.socket) -> None:
        sock.setblocking(False)
        self._client, self._dropping, self._peer_closed = sock, False, False
        self.generation += 1

    def read(self) -> bytes | None:
        assert self._client is not None
        try:
            return self._client.recv(65536)
        except BlockingIOError:
            return None
        except OSError as err:
            if err.errno in _GONE:
                return b""
            raise

    def write(self, data: memoryview) -> int | None:
        assert self._client is not None
        try:
            return self._client.send(data)
        except BlockingIOError:
            return 0
        except OSError as err:
            if err.errno in _GONE:
                return None
            raise

    def host_closed(self) -> None:
        self._peer_closed = True
        if not self._dropping:
            self._close_client()

    def begin_drop(self) -> None:
        if self._client is None:
            self._peer_closed = True
            return
        self._dropping = True
        try:
            self._client.shutdown(socket.SHUT_WR)  # what was sent still arrives, then EOF
        except OSError:
            self._peer_closed = True

    def drained(self) -> bool:
        return self._peer_closed

    def finish_drop(self) -> int:
        self._close_client()
        self._dropping = False
        return 0

    def _close_client(self) -> None:
        if self._client is not None:
            self._client.close()
        self._client = None


class TcpEndpoint(_SocketEndpoint):
    """A TCP server on 127.0.0.1, one client at a time.

    Parameters
    ----------
    port
        TCP port; 0 picks a free one (see :attr:`port` after construction).

    Raises
    ------
    OSError
        When the port cannot be listened on (e.g. it is in use), with a clear message.
    """

    def __init__(self, port: int = 0, *, host: str = "127.0.0.1") -> None:
        super().__init__()
        if not 0 <= port < 65536:
            raise ValueError(f"TCP port must be 0..65535, got {port}")
        self.host = host
        self._listener: socket.socket | None = None
        self.port = port
        self._listen()

    @property
    def url(self) -> str:
        return f"socket://{self.host}:{self.port}"

    def _listen(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as err:
            sock.close()
            raise OSError(err.errno, f"cannot listen on {self.host}:{self.port}: {err.strerror}") from err
        sock.listen(4)
        sock.setblocking(False)
        self.port = sock.getsockname()[1]
        self._listener = sock

    def link_up(self) -> None:
        if self._listener is None:
            self._listen()

    def listen_fds(self) -> list[int]:
        return [] if self._listener is None else [self._listener.fileno()]

    def accept(self, fd: int) -> None:
        if self._listener is None:
            return
        try:
            sock, _ = self._listener.accept()
        except BlockingIOError:
            return
        if self._client is not None:
            sock.close()  # one client at a time
            return
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._set_client(sock)

    def begin_drop(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        super().begin_drop()

    def close(self) -> None:
        self._close_client()
        if self._listener is not None:
            self._listener.close()
            self._listener = None


class PairEndpoint(_SocketEndpoint):
    """The device side of in-process connections: :meth:`attach` makes one socket pair per host open."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self._url = url
        self._present = False
        self._closed = False
        self._incoming: socket.socket | None = None
        self._incoming_host: socket.socket | None = None
        self._client_host: socket.socket | None = None
        self._detached = False
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return self._url

    def link_up(self) -> None:
        with self._lock:
            self._present = True

    def attach(self) -> socket.socket:
        """Connect a host: its end of a new socket pair (raises ``ConnectionError`` when refused)."""
        with self._lock:
            if self._closed or not self._present:
                raise ConnectionRefusedError(errno.ECONNREFUSED, f"{self._url}: device not present")
            if (self._client is not None and not self._detached) or self._incoming is not None:
                raise ConnectionRefusedError(errno.EBUSY, f"{self._url}: device busy (already open)")
            host, device = socket.socketpair()
            self._incoming, self._incoming_host = device, host
        self.wake()
        return host

    def is_current(self, host: socket.socket) -> bool:
        """True when ``host`` is the host end of the live (or just attached) connection."""
        with self._lock:
            return (host is self._client_host and not self._detached) or host is self._incoming_host

    def detach(self, host: socket.socket) -> None:
        """The host closed its end ``host`` (called from the host's thread)."""
        with self._lock:
            if host is self._incoming_host and self._incoming is not None:
                self._incoming.close()
                self._incoming = self._incoming_host = None
            elif host is self._client_host and self._client is not None:
                self._detached = True
        self.wake()

    def connection_fd(self) -> int | None:
        with self._lock:
            if self._detached:
                self.host_closed()
                self._detached = False
            if self._incoming is not None and self._client is None:
                self._set_client(self._incoming)
                self._client_host, self._incoming, self._incoming_host = self._incoming_host, None, None
        return super().connection_fd()

    @property
    def connected(self) -> bool:
        self.connection_fd()
        return super().connected

    def begin_drop(self) -> None:
        with self._lock:
            self._present = False
        super().begin_drop()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._present = False
            if self._incoming is not None:
                self._incoming.close()
                self._incoming = None
        self._close_client()
