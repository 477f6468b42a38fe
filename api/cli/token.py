"""``isokin token``: create, list and revoke the service's bearer tokens (same database as ``serve``)."""

from __future__ import annotations

import argparse

__all__ = ["add_parser", "run"]

ROLES = ("viewer", "operator", "admin")


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help_text: str) -> None:
    parser = subparsers.add_parser(
        name,
        help=help_text,
        description=(
            "Manage bearer tokens in the service's database (chosen like 'isokin serve' does: --database, "
            "then ISOKIN_DATABASE_URL, then isokin.db in ISOKIN_DATA_DIR)."
        ),
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--database", metavar="URL", help="SQLAlchemy URL of the service's database")
    common.add_argument("--data-dir", metavar="DIR", help="data directory holding isokin.db")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = actions.add_parser("create", parents=[common], help="create a token and print it (as the last word)")
    create.add_argument("--role", required=True, choices=ROLES, help="viewer reads; operator runs tests; admin manages tokens")
    create.add_argument("--name", default="", help="who or what uses it (e.g. 'station 1')")
    create.add_argument(
        "--expires-days", type=int, metavar="N", help="the token stops working N days from now (default: never)"
    )
    actions.add_parser("list", parents=[common], help="list tokens (never their secrets)")
    revoke = actions.add_parser("revoke", parents=[common], help="revoke a token by id")
    revoke.add_argument("id", type=int, help="token id (see 'isokin token list')")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from api.audit import AuditRecord, record_audit
    from api.schemas.common import check_text
    from api.schemas.tokens import MAX_EXPIRES_DAYS
    from api.security import Role, create_token, revoke_token
    from api.settings import Settings
    from api.storage.database import Database
    from api.storage.models import ApiToken

    settings = Settings.from_overrides(database_url=args.database, data_dir=args.data_dir)
    database = Database.open(settings.resolved_database_url)
    try:
        with database.session() as session:
            if args.action == "create":
                if len(args.name) > 100:
                    raise ValueError("--name must be at most 100 characters")
                check_text(args.name, multiline=False)
                if args.expires_days is not None and not 1 <= args.expires_days <= MAX_EXPIRES_DAYS:
                    raise ValueError(f"--expires-days must be from 1 to {MAX_EXPIRES_DAYS}")
                row, token = create_token(session, role=Role(args.role), name=args.name, expires_days=args.expires_days)
                session.commit()
                record_audit(database, AuditRecord("CLI", "isokin token create", str(row.id), 201))
                label = f" ({row.name})" if row.name else ""
                until = f", expires {row.expires_at:%Y-%m-%d %H:%M} UTC" if row.expires_at else ""
                print(f"created {row.role} token {row.id}{label}{until}; it is shown only once:\n{token}")
            elif args.action == "list":
                print(f"{'id':>4}  {'role':8}  {'created (UTC)':19}  {'last used (UTC)':19}  {'expires (UTC)':19}  name")
                for row in session.scalars(select(ApiToken).order_by(ApiToken.id)):
                    used = row.last_used_at.strftime("%Y-%m-%d %H:%M:%S") if row.last_used_at else "never"
                    expires = row.expires_at.strftime("%Y-%m-%d %H:%M:%S") if row.expires_at else "never"
                    print(f"{row.id:>4}  {row.role:8}  {row.created_at:%Y-%m-%d %H:%M:%S}  {used:19}  {expires:19}  {row.name}")
            else:
                revoke_token(session, args.id)
                session.commit()
                record_audit(database, AuditRecord("CLI", "isokin token revoke", str(args.id), 204))
                print(f"revoked token {args.id}")
    finally:
        database.close()
    return 0
