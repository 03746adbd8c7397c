#!/usr/bin/env bash
# Make sure a Docker daemon answers. If none does and we are root on Debian, install Docker
# Engine from Debian's archive (docker.io) when missing and start dockerd in the background.
# Used by .ci/run and scripts/demo.sh; safe to run again.
set -euo pipefail

if docker info >/dev/null 2>&1; then
  exit 0
fi

if [ -n "${DOCKER_HOST:-}" ]; then
  echo "ensure-docker: DOCKER_HOST=$DOCKER_HOST does not answer; start that daemon first." >&2
  exit 1
fi

if [ "$(id -u)" != 0 ]; then
  echo "ensure-docker: no Docker daemon answers and we are not root: start Docker (e.g. 'sudo systemctl start docker')." >&2
  exit 1
fi

if ! command -v dockerd >/dev/null 2>&1; then
  echo "ensure-docker: installing Docker Engine (docker.io) from Debian's archive..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq docker.io >/dev/null
fi

log=${DOCKERD_LOG:-/var/log/inferstack-dockerd.log}
echo "ensure-docker: starting dockerd (log: $log)"
# setsid: the daemon must outlive this script and the shell that ran it.
setsid dockerd >"$log" 2>&1 < /dev/null &

for _ in $(seq 1 120); do
  if docker info >/dev/null 2>&1; then
    echo "ensure-docker: daemon ready ($(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})'))"
    exit 0
  fi
  sleep 0.5
done
echo "ensure-docker: dockerd did not answer within 60 s; see $log" >&2
tail -n 20 "$log" >&2 || true
exit 1
