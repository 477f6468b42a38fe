"""``isokin serve``: run the REST service (OpenAPI docs at ``/docs``)."""

from __future__ import annotations

import argparse
import ipaddress

__all__ = ["add_parser", "run"]


def add_parser(subparsers: argparse._SubParsersAction, name: str, help_text: str) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        name,
        help=help_text,
        description=(
            "Run the REST service. Settings come from these options, then from ISOKIN_HOST, ISOKIN_PORT, "
            "ISOKIN_DEVICE, ISOKIN_DATABASE_URL, ISOKIN_DATA_DIR and ISOKIN_CORS_ORIGINS. Without a database "
            "URL the service uses the SQLite file isokin.db in the data directory "
            "($XDG_DATA_HOME/isokin, i.e. ~/.local/share/isokin by default)."
        ),
    )
    parser.add_argument("--host", help="address to bind (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, help="TCP port (default 8000)")
    parser.add_argument("--device", metavar="URL", help="device URL, or 'simulator' (the default)")
    parser.add_argument("--database", metavar="URL", help="SQLAlchemy URL, e.g. postgresql+psycopg://user@host/isokin")
    parser.add_argument("--data-dir", metavar="DIR", help="directory for the SQLite file and uploads")
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
    from api.settings import Settings
    import uvicorn

    from api.main import create_app

    settings = Settings.from_overrides(
        host=args.host, port=args.port, device=args.device, database_url=args.database, data_dir=args.data_dir
    )
    app = create_app(settings)
    database = app.state.database
    print(f"isokin serve: database {database.display_url} (revision {database.revision()})", flush=True)
    print(f"isokin serve: device {settings.device_url}: not connected", flush=True)
    if not _is_loopback(settings.host):
        print(f"isokin serve: listening on {settings.host}: reachable from the network, keep tokens secret", flush=True)
    print(f"isokin serve: API docs at http://{settings.host}:{settings.port}/docs", flush=True)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=args.log_level)
    return 0
