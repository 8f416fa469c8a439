"""The core stays free of backend libraries, and every hook is documented."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import abaco_core
from abaco_core import hookspecs


def test_core_imports_no_backend_library():
    modules = [m.name for m in pkgutil.walk_packages(abaco_core.__path__, "abaco_core.")]
    assert "abaco_core.api.app" in modules and "abaco_core.platform" in modules
    script = f"""
import importlib.abc, sys
BLOCKED = {{"docker", "podman", "peewee", "psycopg2", "redis", "rq", "jwt"}}
class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError("blocked: " + name)
sys.meta_path.insert(0, Blocker())
for name in {modules!r}:
    importlib.import_module(name)
print("imported", len({modules!r}))
"""
    result = subprocess.run(
        [sys.executable, "-c", "import importlib\n" + script], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "imported" in result.stdout


def test_every_hook_is_prefixed_and_documented():
    specs = [name for name in dir(hookspecs.AbacoSpecs) if not name.startswith("_")]
    assert specs
    for name in specs:
        assert name.startswith("abaco_"), name
        assert (getattr(hookspecs.AbacoSpecs, name).__doc__ or "").strip(), f"{name} has no docstring"


def test_in_tree_plugins_register_through_entry_points():
    from importlib.metadata import entry_points

    names = {ep.name: ep.value for ep in entry_points(group="abaco")}
    assert names["docker"] == "abaco_docker.plugin"
    assert names["podman"] == "abaco_podman.plugin"
    assert names["peewee"] == "abaco_peewee.plugin"
    assert names["auth"] == "abaco_auth.plugin"
    from abaco_core.plugins import auth_methods, backends, build_plugin_manager, choose_store
    from abaco_core.settings import Settings

    pm = build_plugin_manager()
    assert {"docker", "podman", "fake"} <= set(backends(pm))
    assert {"none", "token", "jwt"} <= set(auth_methods(pm))
    assert choose_store(pm, Settings(database_url="sqlite:////tmp/x.db")).name == "peewee"


def test_public_surface_exports_what_it_lists():
    for name in abaco_core.__all__:
        assert hasattr(abaco_core, name), name
