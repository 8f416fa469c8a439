#!/bin/bash
# Build abaco's test images without a registry and import them into Docker and/or Podman.
#
#   images/build.sh                 # every reachable engine
#   images/build.sh docker podman   # only these (an unreachable one is an error)
#
# Images (see images/README.md):
#   abaco-test/busybox:1  busybox-static rootfs, CMD /usr/local/bin/echo-env (prints MSG and the env)
#   abaco-test/exit:1     same rootfs, CMD exit-code  (exits with $EXIT_CODE, default 3)
#   abaco-test/sleep:1    same rootfs, CMD sleep-echo (sleeps $SLEEP s, default 2, then prints MSG)
#   abaco-test/sh:1       same rootfs, CMD run-script (evals $SCRIPT)
#   abaco-test/python:1   Python 3.11 (dpkg -x from the Debian mirror) + busybox applets, CMD python3
#   abaco-test/pyexec:1   same rootfs, CMD pyexec     (execs the Python code in $PYCODE)
#   abaco-test/pysdk:1    python rootfs + abaco's SDK (actors.py, agavepy.actors) + cloudpickle,
#                         CMD funcall (the function-call actor: cloudpickled call in, result out)
#   abaco-test/pystate:1  same rootfs, CMD state-counter (increments "count" in the actor state)
#
# Idempotent and fast: rootfs tars are cached in $OUT (default images/out/, gitignored) under a
# hash of their inputs, .debs in $OUT/debs, the cloudpickle wheel in $OUT/wheels; an image whose
# label org.abaco.test.build already carries the current hash is not imported again. FORCE=1
# rebuilds and re-imports everything.
#
# Needs, as root on Debian 12: docker.io and/or podman, busybox-static, apt (for python), tar, sha256sum;
# for pysdk, pip (the project's .venv/bin/pip, else python3 -m pip) and PyPI on the first build.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
OUT=${OUT:-$HERE/out}
DEBS=${DEBS:-$OUT/debs}
WHEELS=${WHEELS:-$OUT/wheels}
FORCE=${FORCE:-0}
BUSYBOX=${BUSYBOX:-/bin/busybox}
DOCKER=${DOCKER:-docker}
PODMAN=${PODMAN:-podman}
if [ -z "${PIP:-}" ]; then
  if [ -x "$ROOT/.venv/bin/pip" ]; then PIP=$ROOT/.venv/bin/pip; else PIP="python3 -m pip"; fi
fi
LABEL=org.abaco.test.build
PATH_ENV='PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
SDK=$ROOT/abaco_core/sdk/actors.py                 # copied into the pysdk image as actors.py
SITE=/usr/local/lib/python3.11/dist-packages       # on the image's sys.path once it exists
CLOUDPICKLE_VERSION=3.1.3                          # keep equal to the host's (tests pickle across)

PY_PKGS="python3.11 python3.11-minimal libpython3.11-minimal libpython3.11-stdlib libc6 libgcc-s1 gcc-12-base
 zlib1g libexpat1 libssl3 libffi8 libbz2-1.0 liblzma5 libsqlite3-0 libncursesw6 libtinfo6 libreadline8 readline-common
 libdb5.3 libuuid1 libcrypt1 libnsl2 libtirpc3 libtirpc-common libgssapi-krb5-2 libkrb5-3 libk5crypto3 libcom-err2
 libkrb5support0 libkeyutils1 media-types busybox-static"

log() { printf '[build.sh] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------- which engines
docker_ok() { command -v "${DOCKER%% *}" >/dev/null 2>&1 && $DOCKER version --format '{{.Server.Version}}' >/dev/null 2>&1; }
podman_ok() { command -v "${PODMAN%% *}" >/dev/null 2>&1 && $PODMAN image ls -q >/dev/null 2>&1; }

ENGINES=()
if [ $# -gt 0 ]; then
  for e in "$@"; do
    case "$e" in
      docker) docker_ok || die "docker named but not reachable ($DOCKER version failed)";;
      podman) podman_ok || die "podman named but not usable ($PODMAN image ls failed)";;
      *) die "unknown engine '$e' (use docker and/or podman)";;
    esac
    ENGINES+=("$e")
  done
else
  docker_ok && ENGINES+=(docker)
  podman_ok && ENGINES+=(podman)
  [ ${#ENGINES[@]} -gt 0 ] || die "neither docker nor podman is reachable"
fi
log "engines: ${ENGINES[*]}"

mkdir -p "$OUT"
[ -x "$BUSYBOX" ] || die "$BUSYBOX missing: apt-get install busybox-static"

# ---------------------------------------------------------------- input hashes
hash_inputs() {  # hash_inputs DIR... -> short hash of this script, the files and busybox
  { sha256sum "${BASH_SOURCE[0]}"; find "$@" -type f -print0 | sort -z | xargs -0 sha256sum;
    sha256sum "$BUSYBOX"; } | sha256sum | cut -c1-16
}
BB_HASH=$(hash_inputs "$HERE/busybox")
PY_HASH=$(hash_inputs "$HERE/python")
PYSDK_HASH=$(hash_inputs "$HERE/python" "$HERE/pysdk" "$SDK")
BB_TAR=$OUT/busybox-rootfs-$BB_HASH.tar
PY_TAR=$OUT/python-rootfs-$PY_HASH.tar
PYSDK_TAR=$OUT/pysdk-rootfs-$PYSDK_HASH.tar

etc_files() {  # etc_files ROOT: passwd/group and the usual empty mount points
  mkdir -p "$1/etc" "$1/tmp" "$1/root" "$1/proc" "$1/sys" "$1/dev" "$1/run" "$1/usr/local/bin"
  chmod 1777 "$1/tmp"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n' >"$1/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$1/etc/group"
}

# ---------------------------------------------------------------- busybox rootfs
build_busybox() {
  if [ "$FORCE" != 1 ] && [ -s "$BB_TAR" ]; then log "busybox rootfs cached: $BB_TAR"; return; fi
  local r; r=$(mktemp -d)
  mkdir -p "$r/bin"
  cp "$BUSYBOX" "$r/bin/busybox"
  for a in $("$r/bin/busybox" --list); do [ "$a" = busybox ] || ln -s busybox "$r/bin/$a"; done
  etc_files "$r"
  install -m 0755 "$HERE"/busybox/* "$r/usr/local/bin/"
  rm -f "$OUT"/busybox-rootfs-*.tar
  tar -C "$r" --numeric-owner -cf "$BB_TAR.tmp" . && mv "$BB_TAR.tmp" "$BB_TAR"
  rm -rf "$r"
  log "busybox rootfs built: $BB_TAR ($(du -h "$BB_TAR" | cut -f1))"
}

# ---------------------------------------------------------------- python rootfs (dpkg -x)
latest_deb() { ls -t "$DEBS/$1"_*.deb 2>/dev/null | head -1; }

fetch_debs() {
  mkdir -p "$DEBS"
  local missing=() p
  for p in $PY_PKGS; do [ -n "$(latest_deb "$p")" ] || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return
  log "downloading ${#missing[@]} .debs into $DEBS"
  if ! (cd "$DEBS" && apt-get download -q -o APT::Sandbox::User=root "${missing[@]}" >/dev/null); then
    log "apt-get download failed; running apt-get update once and retrying"
    apt-get update -q >/dev/null
    (cd "$DEBS" && apt-get download -q -o APT::Sandbox::User=root "${missing[@]}" >/dev/null)
  fi
}

build_python() {
  if [ "$FORCE" != 1 ] && [ -s "$PY_TAR" ]; then log "python rootfs cached: $PY_TAR"; return; fi
  fetch_debs
  local r p a; r=$(mktemp -d)
  for p in $PY_PKGS; do dpkg -x "$(latest_deb "$p")" "$r"; done
  # bookworm .debs ship real /bin and /lib directories (not usr-merged links), so the applet
  # links must be absolute; never shadow a real program.
  for a in $("$r/bin/busybox" --list); do
    [ -e "$r/usr/bin/$a" ] || [ -e "$r/bin/$a" ] || [ -L "$r/bin/$a" ] || ln -s /bin/busybox "$r/bin/$a"
  done
  ln -sf python3.11 "$r/usr/bin/python3"
  ln -sf python3 "$r/usr/bin/python"
  etc_files "$r"
  install -m 0755 "$HERE"/python/* "$r/usr/local/bin/"
  rm -rf "$r"/usr/share/doc "$r"/usr/share/man "$r"/usr/share/locale "$r"/usr/share/lintian \
         "$r"/usr/share/info "$r"/usr/lib/python3.11/test
  rm -f "$OUT"/python-rootfs-*.tar
  tar -C "$r" --numeric-owner -cf "$PY_TAR.tmp" . && mv "$PY_TAR.tmp" "$PY_TAR"
  rm -rf "$r"
  log "python rootfs built: $PY_TAR ($(du -h "$PY_TAR" | cut -f1))"
}

# ---------------------------------------------------------------- pysdk rootfs (python + SDK)
fetch_wheel() {  # prints the path of the cached cloudpickle wheel, downloading it once
  local whl
  whl=$(ls "$WHEELS"/cloudpickle-"$CLOUDPICKLE_VERSION"-*.whl 2>/dev/null | head -1)
  if [ -z "$whl" ]; then
    log "downloading cloudpickle $CLOUDPICKLE_VERSION into $WHEELS"
    mkdir -p "$WHEELS"
    $PIP download -q --no-deps --only-binary=:all: -d "$WHEELS" "cloudpickle==$CLOUDPICKLE_VERSION" >&2 \
      || die "pip download cloudpickle==$CLOUDPICKLE_VERSION failed"
    whl=$(ls "$WHEELS"/cloudpickle-"$CLOUDPICKLE_VERSION"-*.whl 2>/dev/null | head -1)
    [ -n "$whl" ] || die "no cloudpickle wheel in $WHEELS after pip download"
  fi
  printf '%s\n' "$whl"
}

build_pysdk() {  # the python rootfs tar + SDK, agavepy shim, cloudpickle and images/pysdk/bin appended
  if [ "$FORCE" != 1 ] && [ -s "$PYSDK_TAR" ]; then log "pysdk rootfs cached: $PYSDK_TAR"; return; fi
  local r whl; whl=$(fetch_wheel); r=$(mktemp -d)
  mkdir -p "$r$SITE" "$r/usr/local/bin"
  install -m 0644 "$SDK" "$r$SITE/actors.py"
  cp -R "$HERE"/pysdk/site-packages/. "$r$SITE/"
  "$BUSYBOX" unzip -q -o "$whl" -d "$r$SITE"
  chmod -R u=rwX,go=rX "$r/usr/local/lib"
  install -m 0755 "$HERE"/pysdk/bin/* "$r/usr/local/bin/"
  rm -f "$OUT"/pysdk-rootfs-*.tar
  # appending (the python rootfs has no /usr/local/lib) is much faster than unpacking it
  cp "$PY_TAR" "$PYSDK_TAR.tmp"
  (cd "$r" && tar --numeric-owner -rf "$PYSDK_TAR.tmp" ./usr/local/lib ./usr/local/bin/*)
  mv "$PYSDK_TAR.tmp" "$PYSDK_TAR"
  rm -rf "$r"
  log "pysdk rootfs built: $PYSDK_TAR ($(du -h "$PYSDK_TAR" | cut -f1))"
}

# ---------------------------------------------------------------- import
# import_image ENGINE TAR HASH NAME CMD-JSON
import_image() {
  local engine=$1 tar=$2 hash=$3 name=$4 cmd=$5 cli have
  if [ "$engine" = docker ]; then cli=$DOCKER; else cli=$PODMAN; fi
  have=$($cli image inspect --format "{{index .Config.Labels \"$LABEL\"}}" "$name" 2>/dev/null || true)
  if [ "$FORCE" != 1 ] && [ "$have" = "$hash" ]; then
    log "$engine: $name up to date"
    return
  fi
  if [ "$engine" = docker ]; then
    $cli import -c "CMD $cmd" -c "ENV $PATH_ENV" -c "LABEL $LABEL=$hash" "$tar" "$name" >/dev/null
  else
    $cli import -q --change "CMD $cmd" --change "ENV $PATH_ENV" --change "LABEL $LABEL=$hash" \
      "$tar" "$name" >/dev/null
  fi
  IMPORTED=1
  log "$engine: imported $name"
}

import_all() {  # import_all ENGINE (runs in a subshell of its own)
  local e=$1
  IMPORTED=0
  import_image "$e" "$BB_TAR" "$BB_HASH" abaco-test/busybox:1 '["/usr/local/bin/echo-env"]'
  import_image "$e" "$BB_TAR" "$BB_HASH" abaco-test/exit:1 '["/usr/local/bin/exit-code"]'
  import_image "$e" "$BB_TAR" "$BB_HASH" abaco-test/sleep:1 '["/usr/local/bin/sleep-echo"]'
  import_image "$e" "$BB_TAR" "$BB_HASH" abaco-test/sh:1 '["/usr/local/bin/run-script"]'
  import_image "$e" "$PY_TAR" "$PY_HASH" abaco-test/python:1 '["/usr/bin/python3"]'
  import_image "$e" "$PY_TAR" "$PY_HASH" abaco-test/pyexec:1 '["/usr/local/bin/pyexec"]'
  import_image "$e" "$PYSDK_TAR" "$PYSDK_HASH" abaco-test/pysdk:1 '["/usr/local/bin/funcall"]'
  import_image "$e" "$PYSDK_TAR" "$PYSDK_HASH" abaco-test/pystate:1 '["/usr/local/bin/state-counter"]'
  if [ "$IMPORTED" = 1 ]; then  # drop our own images that a re-import left without a name
    if [ "$e" = docker ]; then
      $DOCKER image prune -f --filter "label=$LABEL" >/dev/null 2>&1 || true
    else
      $PODMAN image prune -f --filter "label=$LABEL" >/dev/null 2>&1 || true
    fi
  fi
}

build_busybox
build_python
build_pysdk
# the engines import concurrently; each one's images in sequence
pids=()
for e in "${ENGINES[@]}"; do import_all "$e" & pids+=($!); done
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=1; done
[ $rc -eq 0 ] || die "an import failed"
log "done in ${SECONDS}s"
