"""The session a third-party backend plugin copies to run abaco's conformance kit against itself.
Run it from this directory: ``nox -s conformance`` (extra arguments go to pytest)."""

import nox


@nox.session(venv_backend="venv", reuse_venv=True)
def conformance(session):
    session.install("../..[conformance]", ".")  # abaco and its kit (a path, a git URL...), then this plugin
    kit = ["--pyargs", "abaco_harness.conformance", "--abaco-backend=docker-cli", "--abaco-require-engine"]
    session.run("pytest", *kit, *session.posargs)
