"""Database URLs, SQLite settings, and the plugin registration."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys

import pytest
from abaco_peewee import plugin
from abaco_peewee.db import parse_url
from abaco_peewee.store import PeeweeStore

from abaco_core.errors import ConfigError
from abaco_core.plugins import build_plugin_manager, choose_store
from abaco_core.settings import Settings


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:///abs/path.db", "/abs/path.db"),
        ("sqlite:////abs/path.db", "/abs/path.db"),
        ("sqlite://localhost/abs/path.db", "/abs/path.db"),
        ("sqlite:///with%20space/a.db", "/with space/a.db"),
        ("sqlite:///abs/path.db?busy_timeout=2", "/abs/path.db"),
    ],
)
def test_sqlite_urls(url, path):
    parsed = parse_url(url)
    assert (parsed.dialect, parsed.target) == ("sqlite", path)


def test_sqlite_relative_path_is_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert parse_url("sqlite:rel/a.db").target == str(tmp_path / "rel" / "a.db")
    assert parse_url("sqlite://rel/a.db").target == str(tmp_path / "rel" / "a.db")


def test_settings_default_url_is_understood(tmp_path):
    settings = Settings(data_dir=str(tmp_path / "data"))
    assert parse_url(settings.resolved_database_url).target == str(tmp_path / "data" / "abaco.db")


def test_sqlite_options():
    assert parse_url("sqlite:///a.db?busy_timeout=0.5&max_connections=4").options == {
        "busy_timeout": 0.5,
        "max_connections": 4.0,
    }


@pytest.mark.parametrize(
    "url",
    [
        "sqlite://",
        "sqlite:///:memory:",
        "sqlite:///a.db?journal=off",
        "sqlite:///a.db?busy_timeout=soon",
        "sqlite:///a.db?busy_timeout=-1",
        "mysql://x@y/z",
        "no-scheme",
    ],
)
def test_bad_urls(url):
    with pytest.raises(ConfigError):
        parse_url(url)


def test_postgres_urls():
    parsed = parse_url(
        "postgres://u:p%40ss@db.example:6543/abaco?sslmode=require&max_connections=5&options=-c%20x%3Dy"
    )
    assert parsed.dialect == "postgresql"
    assert parsed.target == "postgresql://u:p%40ss@db.example:6543/abaco?sslmode=require&options=-c%20x%3Dy"
    assert parsed.options == {"max_connections": 5.0}
    assert parsed.display == "postgresql://u:***@db.example:6543/abaco"
    assert "p%40ss" not in repr(PeeweeStore(parsed))


def test_sqlite_runs_in_wal_mode(tmp_path):
    path = tmp_path / "deep" / "er" / "abaco.db"
    store = PeeweeStore(f"sqlite:///{path}")
    try:
        store.migrate()
        assert path.exists()  # the directories were created
        db = store.database
        with db.connection_context():
            assert db.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert db.execute_sql("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
            assert db.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1
            assert db.execute_sql("PRAGMA busy_timeout").fetchone()[0] == 5000
        assert (tmp_path / "deep" / "er" / "abaco.db-wal").exists()
    finally:
        store.close()


def test_busy_timeout_from_the_url(tmp_path):
    store = PeeweeStore(f"sqlite:///{tmp_path}/a.db?busy_timeout=1.5")
    try:
        with store.database.connection_context():
            assert store.database.execute_sql("PRAGMA busy_timeout").fetchone()[0] == 1500
    finally:
        store.close()


def test_building_a_store_touches_nothing(tmp_path):
    PeeweeStore(f"sqlite:///{tmp_path}/later/abaco.db")
    assert not (tmp_path / "later").exists()


# -- plugin --------------------------------------------------------------------------------


def test_entry_point_is_declared():
    points = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="abaco")}
    assert points.get("peewee") == "abaco_peewee.plugin"


def test_plugin_module_is_cheap_to_import():
    code = "import sys, abaco_peewee.plugin; print('peewee' in sys.modules, 'psycopg2' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


@pytest.mark.parametrize(
    "url",
    ["sqlite:////tmp/x.db", "postgresql://a:b@h/d", "postgres://a:b@h/d", "postgresql+psycopg2://a:b@h/d"],
)
def test_chosen_for_its_schemes(url):
    pm = build_plugin_manager(load_entrypoints=False, extra=[plugin])
    info = choose_store(pm, Settings(database_url=url))
    assert info.name == "peewee"
    built = info.factory(Settings(database_url=url))
    try:
        assert isinstance(built, PeeweeStore)
    finally:
        built.close()


def test_default_settings_get_a_sqlite_store(tmp_path):
    pm = build_plugin_manager(load_entrypoints=False, extra=[plugin])
    settings = Settings(data_dir=str(tmp_path))
    built = choose_store(pm, settings).factory(settings)
    try:
        built.migrate()
        assert (tmp_path / "abaco.db").exists()
    finally:
        built.close()
