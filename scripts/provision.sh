#!/bin/bash
# Everything the test suite needs on a fresh Debian/Ubuntu machine, as root: packages, the
# project's virtualenv, the Docker engine, the Podman service, redis-server, PostgreSQL and
# the locally built test images. Idempotent; a second run takes a few seconds.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PACKAGES="docker.io podman runc redis-server postgresql busybox-static iptables ca-certificates curl python3-venv"

missing=""
for p in $PACKAGES; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  echo "provision: installing$missing"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
fi

"$ROOT/scripts/install.sh" --test
"$ROOT/scripts/start-engines.sh"
"$ROOT/scripts/start-postgres.sh"
"$ROOT/images/build.sh"
