"""``isokin token`` and ``isokin db`` in-process: same database as ``serve``, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from api.cli import main
from api.storage.database import MIGRATIONS_DIR


def test_token_create_prints_the_token_last_and_list_revoke_work(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["token", "create", "--role", "operator", "--name", "station 1", "--database", database_url]) == 0
    out = capsys.readouterr().out
    token = out.split()[-1]
    assert token.startswith("isk_") and "operator" in out
    token_id = token.split("_")[1]
    assert main(["token", "list", "--database", database_url]) == 0
    listing = capsys.readouterr().out
    assert "station 1" in listing and token not in listing and token.split("_", 2)[2] not in listing
    assert main(["token", "revoke", token_id, "--database", database_url]) == 0
    assert main(["token", "revoke", token_id, "--database", database_url]) == 1
    assert capsys.readouterr().err.strip() == f"isokin token: error: token {token_id} not found"


def test_environment_data_dir_is_shared_by_every_subcommand(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("ISOKIN_DATABASE_URL", raising=False)
    monkeypatch.setenv("ISOKIN_DATA_DIR", str(tmp_path))
    assert main(["db", "current"]) == 0
    assert "revision none" in capsys.readouterr().out
    assert main(["token", "create", "--role", "admin"]) == 0
    capsys.readouterr()
    assert main(["db", "current"]) == 0
    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    assert capsys.readouterr().out.strip() == f"sqlite:///{tmp_path / 'isokin.db'}: revision {head}"


def test_unreachable_or_bad_databases_end_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "upgrade", "--database", "nosuchdb://x"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("isokin db: error: bad database URL")
    url = "postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=2"
    assert main(["token", "create", "--role", "admin", "--database", url]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot migrate" in err and "Traceback" not in err
