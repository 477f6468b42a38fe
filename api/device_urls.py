"""Which device URLs the service opens: an allow-list, not a list of refused schemes.

pyserial opens far more than serial ports (``spy://`` writes a hexdump to any file it is
given, ``socket://`` reaches any host, ``rfc2217://`` and ``loop://`` too), and a path
can name any file. The service, reachable by every operator token, opens only:

=====================  ================================================================
rule                   what passes
=====================  ================================================================
``simulator``          the word ``simulator`` (the bundled simulator at real time)
``sim options``        ``sim://?OPTIONS`` with the options ``isokin sim`` documents
                       (:data:`SIM_OPTIONS`); ``profile`` is a *name* of a bundled or
                       uploaded profile, never a path
``serial device``      ``/dev/tty*``, ``/dev/cu.*`` or ``/dev/serial/by-id|by-path/*``
                       that is (or links to) a character device; ``COM1`` .. ``COM999``
``socket hosts``       ``socket://HOST:PORT`` with HOST in ``ISOKIN_DEVICE_SOCKET_HOSTS``
                       (default: this machine), no options
=====================  ================================================================

Everything else (``spy://``, ``loop://``, ``rfc2217://``, ``file``-like paths, options a
handler would act on) is refused with :class:`DeviceUrlRefused`, a 422 naming the rule.
``isokin record`` on the command line keeps every pyserial URL: whoever runs it owns
the terminal and the files.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Collection
from urllib.parse import parse_qsl, urlsplit

from api.errors import InvalidInputError

__all__ = ["DEFAULT_SOCKET_HOSTS", "SIM_OPTIONS", "DeviceUrlRefused", "check_device_url"]

#: Hosts a ``socket://`` device may be on unless the settings say otherwise.
DEFAULT_SOCKET_HOSTS: tuple[str, ...] = ("127.0.0.1", "::1", "localhost")
#: The ``sim://`` options ``isokin sim`` documents (``simulators.urlhandler.protocol_sim``).
SIM_OPTIONS = (
    "protocol", "rate", "profile", "seed", "joint", "side", "ascii_counter", "speed",
    "fault_corrupt_rate", "fault_drop_rate", "fault_disconnect_after", "fault_reconnect_delay", "fault_drift_ppm",
)  # fmt: skip

_SERIAL_PATH = re.compile(r"^/dev/(tty[A-Za-z0-9._-]+|cu\.[A-Za-z0-9._-]+|serial/by-(id|path)/[A-Za-z0-9._:+-]+)$")
_COM_PORT = re.compile(r"^COM[1-9][0-9]{0,2}$")


class DeviceUrlRefused(InvalidInputError):
    """A device URL outside the allow-list: the message names the rule it breaks."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__("url", f"refused by the device-URL rule '{rule}': {message}", kind="device_url")
        self.rule = rule


def _check_sim(url: str, profile_names: Collection[str]) -> None:
    parts = urlsplit(url)
    if parts.netloc or parts.path not in ("", "/") or parts.fragment:
        raise DeviceUrlRefused("sim options", "a sim:// URL carries only options, e.g. sim://?speed=10")
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    names = [name for name, _ in pairs]
    unknown = sorted(set(names) - set(SIM_OPTIONS))
    if unknown:
        raise DeviceUrlRefused("sim options", f"unknown option {unknown[0][:40]!r}; known: {', '.join(SIM_OPTIONS)}")
    if len(names) != len(set(names)):
        raise DeviceUrlRefused("sim options", "an option is given twice")
    profile = dict(pairs).get("profile")
    if profile is not None:
        if "/" in profile or "\\" in profile:
            raise DeviceUrlRefused("sim options", "profile is the name of a simulator profile (GET /device/simulator/profiles), not a path")
        if profile not in profile_names:
            raise DeviceUrlRefused("sim options", f"no simulator profile is called {profile!r} (GET /device/simulator/profiles)")


def _check_serial(path: str) -> None:
    if not _SERIAL_PATH.match(path) or "/../" in path or path.endswith("/.."):
        raise DeviceUrlRefused("serial device", "a serial port is /dev/tty*, /dev/cu.* or /dev/serial/by-id/* (or COMn)")
    real = os.path.realpath(path)
    try:
        mode = os.stat(real).st_mode
    except OSError:
        raise DeviceUrlRefused("serial device", f"{path} does not exist (is the device plugged in?)") from None
    if not real.startswith("/dev/") or not stat.S_ISCHR(mode):
        raise DeviceUrlRefused("serial device", f"{path} is not a character device")


def _check_socket(url: str, hosts: Collection[str]) -> None:
    parts = urlsplit(url)
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        raise DeviceUrlRefused("socket hosts", "socket://HOST:PORT needs a port from 1 to 65535") from None
    if parts.username or parts.password or parts.path not in ("", "/") or parts.query or parts.fragment:
        raise DeviceUrlRefused("socket hosts", "socket://HOST:PORT takes no user, path or options")
    if not host or port is None or not 0 < port < 65536:
        raise DeviceUrlRefused("socket hosts", "socket://HOST:PORT needs a host and a port from 1 to 65535")
    allowed = {h.lower().strip("[]") for h in hosts}
    if host.lower() not in allowed:
        raise DeviceUrlRefused(
            "socket hosts", f"{host} is not an allowed device host ({', '.join(sorted(allowed))}; ISOKIN_DEVICE_SOCKET_HOSTS)"
        )


def check_device_url(url: str, *, socket_hosts: Collection[str], profile_names: Collection[str]) -> None:
    """Raise :class:`DeviceUrlRefused` unless the service may open ``url`` (see the module's table).

    Parameters
    ----------
    url
        What the service is asked to open.
    socket_hosts
        Hosts a ``socket://`` URL may name.
    profile_names
        The simulator profiles a ``sim://`` URL's ``profile`` may name (bundled and uploaded).
    """
    if url == "simulator":
        return
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme == "sim":
        _check_sim(url, profile_names)
    elif scheme == "socket":
        _check_socket(url, socket_hosts)
    elif scheme:
        raise DeviceUrlRefused(
            "allowed schemes",
            f"{scheme}:// is not opened by the service (only simulator, sim://, serial devices and socket://); "
            "spy:// and other pyserial handlers are for 'isokin record' on the command line",
        )
    elif _COM_PORT.match(url):
        return
    else:
        _check_serial(url)
