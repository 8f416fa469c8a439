#!/bin/bash
# Create the project's virtualenv (.venv) and install abaco into it, editable.
#   scripts/install.sh          # the platform
#   scripts/install.sh --test   # the platform and the test tools
#   scripts/install.sh --engine # also install and start Docker when no container engine answers
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${PYTHON:-python3}
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
EXTRAS=""; ENGINE=0
for arg in "$@"; do
  case $arg in
  --test) EXTRAS="[test]" ;;
  --engine) ENGINE=1 ;;
  *) echo "install: unknown option $arg" >&2; exit 2 ;;
  esac
done

engine_answers() {
  for s in /var/run/docker.sock /run/docker.sock /run/podman/podman.sock "${XDG_RUNTIME_DIR:-/nonexistent}/podman/podman.sock"; do
    curl -fsS --max-time 2 --unix-socket "$s" http://d/_ping >/dev/null 2>&1 && return 0
  done
  return 1
}
if [ "$ENGINE" = 1 ] && ! engine_answers; then
  echo "install: no container engine answers; installing and starting Docker"
  command -v dockerd >/dev/null || { $SUDO apt-get update -q && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io curl; }
  if [ -d /run/systemd/system ]; then $SUDO systemctl start docker; else ENGINES=docker $SUDO "$ROOT/scripts/start-engines.sh"; fi
fi
if ! "$PYTHON" -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null; then
  echo "install: abaco needs Python 3.11 or newer ($PYTHON is $("$PYTHON" --version 2>&1))" >&2; exit 2
fi
if ! "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null; then
  $SUDO apt-get update -q && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv
fi
[ -x "$ROOT/.venv/bin/python" ] || "$PYTHON" -m venv "$ROOT/.venv"
"$ROOT/.venv/bin/python" -m pip install -q --upgrade pip
"$ROOT/.venv/bin/python" -m pip install -q -e "$ROOT$EXTRAS"
echo "install: abaco is installed in $ROOT/.venv (run .venv/bin/abaco up)"
