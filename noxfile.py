"""nox sessions: the test suite, lint, and the conformance kit against any backend.

    nox -s tests                                   # the whole pytest suite
    nox -s lint                                    # ruff
    nox -s conformance -- docker                   # the kit against an installed backend: fake, docker, podman
    nox -s conformance-external -- ./examples/abaco-cli-backend docker-cli
                                                   # install a third-party plugin (pip spec or path), then the kit

Extra arguments after those go to pytest (or ruff). Every session reuses its virtualenv;
``nox -R`` also skips the installs.
"""

from __future__ import annotations

from pathlib import Path

import nox

nox.options.default_venv_backend = "venv"
nox.options.sessions = ["lint", "tests", "conformance"]

KIT = ("pytest", "--pyargs", "abaco_harness.conformance", "--timeout=300", "-ra")


def run_kit(session: nox.Session, *args: str) -> None:
    """The installed kit, run as a third party runs it: from outside this repository, so that
    neither its pytest settings nor its conftest files apply."""
    session.chdir(session.create_tmp())
    session.run(*KIT, *args)


@nox.session(venv_backend="venv", reuse_venv=True)
def tests(session: nox.Session) -> None:
    """The whole pytest suite."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session(venv_backend="venv", reuse_venv=True)
def lint(session: nox.Session) -> None:
    """ruff over the repository."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".", *session.posargs)


@nox.session(venv_backend="venv", reuse_venv=True)
def conformance(session: nox.Session) -> None:
    """The conformance kit against an installed backend: ``nox -s conformance -- docker``
    (``fake``, the default, needs no engine; any other fails when its engine does not answer)."""
    backend, *pytest_args = session.posargs or ["fake"]
    session.install("-e", ".[conformance]")
    required = [] if backend == "fake" else ["--abaco-require-engine"]
    run_kit(session, f"--abaco-backend={backend}", *required, *pytest_args)


@nox.session(name="conformance-external", venv_backend="venv", reuse_venv=True)
def conformance_external(session: nox.Session) -> None:
    """Install a third-party backend plugin, then run the kit against it:
    ``nox -s conformance-external -- <pip spec or path> <backend name> [pytest args]``."""
    if len(session.posargs) < 2:
        session.error("usage: nox -s conformance-external -- <pip spec or path> <backend name> [pytest args]")
    spec, backend, *pytest_args = session.posargs
    # the venv is reused: first remove whatever the previous run installed for its plugin, so
    # a stale plugin never stays registered next to this one
    record = Path(session.virtualenv.location) / "abaco-external-plugin.txt"
    if record.exists() and record.read_text().split():
        session.run_install(
            "python", "-m", "pip", "uninstall", "--yes", *record.read_text().split(), silent=True
        )
    session.install("-e", ".[conformance]")
    before = _distributions(session)
    session.install(spec)
    after = _distributions(session)
    if after is not None and before is not None:
        record.write_text("\n".join(sorted(after - before)))
    run_kit(session, f"--abaco-backend={backend}", "--abaco-require-engine", *pytest_args)


def _distributions(session: nox.Session) -> set[str] | None:
    """Names of the distributions installed in the session's venv (``None`` under ``--no-install``)."""
    listing = session.run_install("python", "-m", "pip", "list", "--format=freeze", silent=True)
    if not isinstance(listing, str):
        return None
    return {line.partition("==")[0].lower() for line in listing.splitlines() if "==" in line}
