"""``isokin db``: bring the service's database to the latest schema, or show its revision."""

from __future__ import annotations

import argparse

__all__ = ["add_parser", "run"]


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help_text: str) -> None:
    parser = subparsers.add_parser(
        name,
        help=help_text,
        description=(
            "Run the Alembic migrations ('isokin serve' also does at start). The database is chosen like "
            "'isokin serve' does: --database, then ISOKIN_DATABASE_URL, then isokin.db in ISOKIN_DATA_DIR."
        ),
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--database", metavar="URL", help="SQLAlchemy URL of the service's database")
    common.add_argument("--data-dir", metavar="DIR", help="data directory holding isokin.db")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("upgrade", parents=[common], help="migrate to the latest revision")
    actions.add_parser("current", parents=[common], help="print the current revision")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from api.settings import Settings
    from api.storage.database import Database

    settings = Settings.from_overrides(database_url=args.database, data_dir=args.data_dir)
    database = Database(settings.resolved_database_url)
    try:
        revision = database.upgrade() if args.action == "upgrade" else database.revision()
        print(f"{database.display_url}: revision {revision or 'none (empty database)'}")
    finally:
        database.close()
    return 0
