"""Opening a device by URL: any pyserial URL or path, with exclusive access and low latency.

``/dev/ttyUSB0``, ``/dev/pts/5``, ``socket://127.0.0.1:7000``, ``loop://``, ``spy://`` (hexdump of
the traffic) and any scheme registered in ``serial.protocol_handler_packages`` (e.g. the
simulator's ``sim://``, registered by whoever imports it; ``daq`` never does).
"""

from __future__ import annotations

import errno
import os
import select

import serial

from daq.errors import DeviceUnavailable

__all__ = ["describe_error", "open_port", "read_available"]

#: Read timeout of the reader thread: how long a read blocks before it checks for close, seconds.
READ_TIMEOUT_S = 0.05
#: Most bytes one read takes (a tty hands out at most 4 KiB at a time anyway).
READ_MAX_BYTES = 1 << 16
_RETRY_ERRNOS = (errno.EAGAIN, errno.EALREADY, errno.EWOULDBLOCK, errno.EINPROGRESS, errno.EINTR)


def open_port(url: str, *, baudrate: int = 921600, read_timeout_s: float = READ_TIMEOUT_S) -> serial.SerialBase:
    """Open ``url`` for exclusive, low-latency use.

    Parameters
    ----------
    url
        A device path or pyserial URL.
    baudrate
        Bits per second for a real UART (ignored by USB CDC, ptys and sockets).
    read_timeout_s
        Timeout of ``read()``, seconds.

    Raises
    ------
    ValueError
        When the URL's scheme is unknown or it carries a bad option.
    DeviceUnavailable
        When the port cannot be opened: ``"cannot open /dev/ttyUSB9: No such file or directory"``.
    """
    try:
        port = serial.serial_for_url(url, do_not_open=True, baudrate=baudrate, timeout=read_timeout_s)
    except ValueError as err:
        raise ValueError(f"bad device URL {url!r}: {err}") from err
    except (serial.SerialException, OSError) as err:
        raise DeviceUnavailable(f"cannot open {url}: {describe_error(err)}") from err
    if isinstance(port, serial.Serial):  # a real tty (or pty): lock it against a second reader
        port.exclusive = True
    try:
        port.open()
    except ValueError as err:
        raise ValueError(f"bad device URL {url!r}: {err}") from err
    except (serial.SerialException, OSError) as err:
        raise DeviceUnavailable(f"cannot open {url}: {describe_error(err)}") from err
    set_low_latency = getattr(port, "set_low_latency_mode", None)
    if set_low_latency is not None:
        try:
            set_low_latency(True)
        except (ValueError, OSError, NotImplementedError):
            pass  # ptys and many USB adapters have no ASYNC_LOW_LATENCY flag
    return port


def read_available(port: serial.SerialBase) -> bytes:
    """Wait up to the port's timeout for input and return all of it at once; ``b""`` on timeout or ``cancel_read()``.

    A POSIX port (a tty or a pty) costs one ``select`` and one ``read`` per call (pyserial's
    ``read(in_waiting or 1)`` then the rest costs two of each and two ``ioctl`` s); other ports
    (sockets, ``loop://``, ``spy://``, ``sim://``) go through pyserial. Errors are pyserial's: a failed read or a
    hang-up is :class:`serial.SerialException`.
    """
    fd = getattr(port, "fd", None)
    abort = getattr(port, "pipe_abort_read_r", None)
    if type(port) is not serial.Serial or fd is None or abort is None:  # not a plain POSIX port (spy:// logs its reads)
        chunk: bytes = port.read(port.in_waiting or 1)
        if chunk:
            waiting = port.in_waiting
            if waiting:
                chunk += port.read(waiting)
        return chunk
    ready, _, _ = select.select([fd, abort], [], [], port.timeout)
    if abort in ready:  # cancel_read(): the reader is asked to look up
        os.read(abort, 1000)
        return b""
    if not ready:
        return b""
    try:
        chunk = os.read(fd, READ_MAX_BYTES)
    except OSError as err:
        if err.errno in _RETRY_ERRNOS:
            return b""
        raise serial.SerialException(f"read failed: {err}") from err
    if not chunk:  # as pyserial: Linux reports a vanished device as readable with nothing to read
        raise serial.SerialException(
            "device reports readiness to read but returned no data (device disconnected or multiple access on port?)"
        )
    return chunk


def describe_error(err: BaseException) -> str:
    """The useful part of a pyserial/OS error: ``No such file or directory``, not the errno soup."""
    text = str(err)
    if "exclusively lock" in text:
        return "in use by another program (cannot lock it)"
    cause: BaseException | None = err
    while cause is not None:
        args = cause.args
        if not isinstance(cause, serial.SerialException) and len(args) == 2 and isinstance(args[1], str):
            return args[1]  # OSError(errno, strerror) or termios.error(errno, text)
        cause = cause.__cause__ or (None if cause.__suppress_context__ else cause.__context__)
    # pyserial: "Could not open port socket://h:1: [Errno 111] Connection refused"
    return text.rsplit("] ", 1)[-1] or type(err).__name__
