"""``isokin serve``: run the REST service (OpenAPI docs at ``/docs``)."""

from __future__ import annotations

import argparse
import ipaddress
import socket

__all__ = ["add_parser", "run"]


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help_text: str) -> None:
    parser = subparsers.add_parser(
        name,
        help=help_text,
        description=(
            "Run the REST service. Settings come from these options, then from ISOKIN_HOST, ISOKIN_PORT, "
            "ISOKIN_DEVICE, ISOKIN_DATABASE_URL, ISOKIN_DATA_DIR, ISOKIN_STATION_ID and ISOKIN_CORS_ORIGINS. "
            "Without a database URL the service uses the SQLite file isokin.db in the data directory "
            "($XDG_DATA_HOME/isokin, i.e. ~/.local/share/isokin by default). Without a device it runs the "
            "bundled simulator in-process at real-time speed; the device connects in the background, so the "
            "server starts even when it is absent (GET /api/v1/device shows its state)."
        ),
    )
    parser.add_argument("--host", help="address to bind (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, help="TCP port (default 8000)")
    parser.add_argument(
        "--device",
        metavar="URL",
        help="'simulator' (the default), sim://?speed=10 (simulator options), a serial path, a pyserial URL, "
        "or 'none' to start without a device",
    )
    parser.add_argument("--database", metavar="URL", help="SQLAlchemy URL, e.g. postgresql+psycopg://user@host/isokin")
    parser.add_argument("--data-dir", metavar="DIR", help="directory for the SQLite file and uploads")
    parser.add_argument(
        "--station-id",
        metavar="NAME",
        help="name of this server instance (default: the host name); at start it marks its own unfinished "
        "trials interrupted",
    )
    parser.add_argument("--lsl", action="store_true", default=None,
                        help="publish every trial's recording as Lab Streaming Layer streams (also ISOKIN_LSL=true; "
                             "needs pip install 'isokin[lsl]')")
    parser.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"))
    parser.set_defaults(run=run)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from api.main import create_app
    from api.settings import Settings

    settings = Settings.from_overrides(
        host=args.host,
        port=args.port,
        device=args.device,
        database_url=args.database,
        data_dir=args.data_dir,
        station_id=args.station_id,
        lsl=args.lsl,
    )
    if settings.lsl:
        from daq.lsl_sink import load_pylsl

        load_pylsl()  # a missing pylsl stops the server here, with how to install it
    app = create_app(settings)
    database = app.state.database
    print(f"isokin serve: database {database.display_url} (revision {database.revision()})", flush=True)
    # Order matters: the station first (a second server with this id stops here, before it touches
    # any trial or device; the schema is migrated already, which any server of this version may do),
    # then the port (one already in use stops here), and only then, in the app's startup, the
    # recovery of this station's unfinished trials and the device.
    acquisition = app.state.acquisition
    acquisition.hold_station(address=f"{settings.host}:{settings.port}")
    try:
        sock = _listen(settings.host, settings.port)
    except OSError as err:
        acquisition.station.release()
        raise OSError(f"cannot listen on {settings.host}:{settings.port}: {err.strerror or err}") from err
    port = sock.getsockname()[1]
    connecting = "not connected" if settings.device_url == "none" else "connecting in the background"
    print(f"isokin serve: station {settings.station_id}, device {settings.device_url}: {connecting}", flush=True)
    if not _is_loopback(settings.host):
        print(f"isokin serve: listening on {settings.host}: reachable from the network, keep tokens secret", flush=True)
    base = f"http://{settings.host}:{port}"
    print(f"isokin serve: API docs at {base}/docs", flush=True)
    # the port is bound and listening: the address works from here on
    print(f"isokin serve: web app at {base}/ (sign in with a token from 'isokin token create')", flush=True)
    # the one WebSocket (the live view) takes no message from clients: none may be large or compressed
    server = uvicorn.Server(uvicorn.Config(app, log_level=args.log_level, ws_max_size=4096, ws_per_message_deflate=False))
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        acquisition.station.release()
    return 0


def _listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (IPv4 or IPv6), as uvicorn would bind it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named, as uvicorn's own bind does: asyncio turns Nagle's algorithm off (TCP_NODELAY) only
    # on connections whose socket says TCP. With it on, a response's body waited for the client's delayed
    # ACK of its headers, and every request cost twice the CPU.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
        sock.set_inheritable(True)
    except OSError:
        sock.close()
        raise
    return sock
