"""``isokin db``: migrate the service's database, show its revision, check it, back it up."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

__all__ = ["add_parser", "run"]


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help_text: str) -> None:
    parser = subparsers.add_parser(
        name,
        help=help_text,
        description=(
            "Run the Alembic migrations ('isokin serve' also does at start), check the database or back it up. "
            "The database is chosen like 'isokin serve' does: --database, then ISOKIN_DATABASE_URL, then "
            "isokin.db in ISOKIN_DATA_DIR."
        ),
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--database", metavar="URL", help="SQLAlchemy URL of the service's database")
    common.add_argument("--data-dir", metavar="DIR", help="data directory holding isokin.db")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("upgrade", parents=[common], help="migrate to the latest revision")
    actions.add_parser("current", parents=[common], help="print the current revision")
    actions.add_parser(
        "check",
        parents=[common],
        help="read the whole database: SQLite's integrity and foreign-key checks, the schema revision, every sample chunk's CRC (rc 1 if damaged)",
    )
    backup = actions.add_parser(
        "backup",
        parents=[common],
        help="copy a SQLite database to FILE while the service runs (SQLite's online backup API); "
        "for PostgreSQL, print the pg_dump command to use",
    )
    backup.add_argument("file", type=Path, metavar="FILE", help="the copy to write (refused if it exists, unless --force)")
    backup.add_argument("--force", action="store_true", help="replace FILE if it exists")
    parser.set_defaults(run=run)


def _pg_dump_command(database: object, file: Path) -> str:
    from sqlalchemy.engine import URL

    assert isinstance(database, URL)
    url = database.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return f"pg_dump --format=custom --file {shlex.quote(str(file))} {shlex.quote(url)}"


def run(args: argparse.Namespace) -> int:
    from api.settings import Settings
    from api.storage.database import Database

    settings = Settings.from_overrides(database_url=args.database, data_dir=args.data_dir)
    database = Database(settings.resolved_database_url)
    try:
        if args.action in ("upgrade", "current"):
            revision = database.upgrade() if args.action == "upgrade" else database.revision()
            print(f"{database.display_url}: revision {revision or 'none (empty database)'}")
            return 0
        if args.action == "check":
            problems = database.check()
            for problem in problems:
                print(f"{database.display_url}: {problem}")
            if not problems:
                print(f"{database.display_url}: ok (revision {database.revision()})")
            return 1 if problems else 0
        if database.backend != "sqlite":
            print(
                "isokin db backup: PostgreSQL is backed up with its own tool; run (the password from ~/.pgpass or PGPASSWORD):",
                file=sys.stderr,
            )
            print(_pg_dump_command(database.engine.url, args.file))
            return 0
        if args.file.exists() and not args.force:
            raise ValueError(f"{args.file} exists: choose another file or pass --force")
        database.backup(args.file)
        print(f"{database.display_url}: backed up to {args.file} ({args.file.stat().st_size} bytes, quick_check ok)")
        return 0
    finally:
        database.close()
