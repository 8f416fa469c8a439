#!/bin/bash
# Start the Docker engine, the Podman REST service and redis-server on a Debian/Ubuntu machine
# without systemd (CI, containers, this project's dev machines). Idempotent: whatever already
# answers is left alone. Recipe and pitfalls: ../shared/notes/containers-here.md (§1).
#
#   scripts/start-engines.sh            # all three
#   ENGINES="docker" scripts/start-engines.sh
set -euo pipefail
STATE=${STATE:-/run/abaco-ci}
DOCKER_SOCK=${DOCKER_SOCK:-/run/docker.sock}
PODMAN_SOCK=${PODMAN_SOCK:-/run/podman/podman.sock}
CONTAINERS_CONF=${CONTAINERS_CONF:-/etc/containers/containers.conf}
REDIS_PORT=${REDIS_PORT:-6379}
ENGINES=${ENGINES:-"docker podman redis"}
mkdir -p "$STATE" "$(dirname "$PODMAN_SOCK")" "$(dirname "$CONTAINERS_CONF")"

ping_sock() { curl -fsS --max-time 2 --unix-socket "$1" http://d/_ping >/dev/null 2>&1; }
wait_sock() {
  for _ in $(seq 600); do ping_sock "$1" && return 0; sleep 0.05; done
  echo "start-engines: $2 did not answer on $1; its log follows" >&2; tail -n 40 "$3" >&2; return 1
}

for engine in $ENGINES; do
  case $engine in
  docker)
    if ping_sock "$DOCKER_SOCK" || ping_sock /var/run/docker.sock; then echo "docker: already running"; continue; fi
    dockerd --host "unix://$DOCKER_SOCK" --pidfile "$STATE/dockerd.pid" >"$STATE/dockerd.log" 2>&1 &
    wait_sock "$DOCKER_SOCK" dockerd "$STATE/dockerd.log"
    [ -e /var/run/docker.sock ] || ln -sf "$DOCKER_SOCK" /var/run/docker.sock
    echo "docker: started on unix://$DOCKER_SOCK"
    ;;
  podman)
    if ping_sock "$PODMAN_SOCK"; then echo "podman: already running"; continue; fi
    if [ ! -f "$CONTAINERS_CONF" ] || ! grep -q abaco "$CONTAINERS_CONF"; then
      # podman's default rlimits exceed what a process without CAP_SYS_RESOURCE may set, and crun
      # rejects hybrid cgroups: pin runc and limits within the hard limits (notes, pitfalls 1-2)
      HN=$(ulimit -Hn); [ "$HN" = unlimited ] && HN=1048576
      HU=$(ulimit -Hu); { [ "$HU" = unlimited ] || [ "$HU" -gt 32768 ]; } && HU=32768
      cat >"$CONTAINERS_CONF" <<CONF
# written by abaco scripts/start-engines.sh
[containers]
default_ulimits = ["nofile=$HN:$HN", "nproc=$HU:$HU"]
log_driver = "k8s-file"
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
    fi
    # from the state dir: conmon leaves marker files (such as "oom") in its working directory
    (cd "$STATE" && CONTAINERS_CONF="$CONTAINERS_CONF" exec nohup podman system service --time=0 \
      "unix://$PODMAN_SOCK" >"$STATE/podman.log" 2>&1) &
    echo $! >"$STATE/podman.pid"
    wait_sock "$PODMAN_SOCK" "podman system service" "$STATE/podman.log"
    echo "podman: started on unix://$PODMAN_SOCK"
    ;;
  redis)
    if redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; then echo "redis: already running"; continue; fi
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes --save '' --appendonly no \
      --pidfile "$STATE/redis.pid" --logfile "$STATE/redis.log" --dir "$STATE"
    for _ in $(seq 200); do redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && break; sleep 0.05; done
    echo "redis: started on 127.0.0.1:$REDIS_PORT"
    ;;
  *) echo "start-engines: unknown engine $engine" >&2; exit 2 ;;
  esac
done
