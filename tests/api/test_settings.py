"""Settings: flags over ISOKIN_* variables over defaults; the default SQLite file lives in the data dir."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.settings import Settings, default_data_dir


def test_environment_is_read_and_overrides_win(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ISOKIN_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ISOKIN_DEVICE", "socket://127.0.0.1:7000")
    monkeypatch.setenv("ISOKIN_DATABASE_URL", "postgresql+psycopg://u@db/isokin")
    monkeypatch.setenv("ISOKIN_PORT", "9000")
    env = Settings()
    assert (env.data_dir, env.device_url, env.resolved_database_url, env.port) == (
        tmp_path,
        "socket://127.0.0.1:7000",
        "postgresql+psycopg://u@db/isokin",
        9000,
    )
    flags = Settings.from_overrides(port=8123, device="simulator", database_url=None)
    assert (flags.port, flags.device_url, flags.database_url) == (8123, "simulator", "postgresql+psycopg://u@db/isokin")


def test_defaults_bind_loopback_use_sqlite_in_the_data_dir_and_keep_cors_off(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("ISOKIN_DATA_DIR", "ISOKIN_DATABASE_URL", "ISOKIN_DEVICE", "ISOKIN_HOST", "ISOKIN_CORS_ORIGINS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    settings = Settings()
    assert settings.host == "127.0.0.1" and settings.port == 8000 and settings.cors_origins == ()
    assert settings.data_dir == default_data_dir() == tmp_path / "isokin"
    assert settings.resolved_database_url == f"sqlite:///{tmp_path / 'isokin' / 'isokin.db'}"
    assert settings.device_url == "simulator"


def test_cors_origins_are_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ISOKIN_CORS_ORIGINS", "http://a.example, http://b.example,")
    assert Settings().cors_origins == ("http://a.example", "http://b.example")


def test_a_bad_port_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ISOKIN_PORT", "70000")
    with pytest.raises(ValueError, match="port"):
        Settings()
