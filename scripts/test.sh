#!/bin/bash
# The whole test suite, on real engines and databases: provisions what it needs (as root),
# lints, runs the conformance kit through nox (fake, docker, podman and the example
# third-party plugin), then every test of the project. Extra arguments go to pytest.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
"$ROOT/scripts/provision.sh"
export ABACO_REQUIRE_ENGINES=1 ABACO_REQUIRE_POSTGRES=1 ABACO_REQUIRE_REDIS=1
export ABACO_TEST_POSTGRES_URL=${ABACO_TEST_POSTGRES_URL:-postgresql://abaco:abaco@127.0.0.1:5432/abaco_test}
.venv/bin/ruff check .
for backend in fake docker podman; do
  .venv/bin/nox -s conformance -- "$backend"
done
.venv/bin/nox -s conformance-external -- ./examples/abaco-cli-backend docker-cli
.venv/bin/python -m pytest -q -ra "$@"
