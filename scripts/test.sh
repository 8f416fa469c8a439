#!/bin/bash
# The whole test suite, on real engines and databases: provisions what it needs (as root),
# then runs every test. Extra arguments go to pytest.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
"$ROOT/scripts/provision.sh"
export ABACO_REQUIRE_ENGINES=1 ABACO_REQUIRE_POSTGRES=1
export ABACO_TEST_POSTGRES_URL=${ABACO_TEST_POSTGRES_URL:-postgresql://abaco:abaco@127.0.0.1:5432/abaco_test}
.venv/bin/ruff check .
.venv/bin/python -m pytest -q -ra "$@"
