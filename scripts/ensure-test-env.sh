#!/usr/bin/env bash
# Everything the tests need besides node_modules, so that the README's test command works on a
# fresh machine: `pnpm test` runs this first (`pnpm test:unit` does not). Each step is skipped
# when it is done already; then the whole run is a few checks and images/build.sh finding every
# image current (about a second on an idle machine).
#
#   bash scripts/ensure-test-env.sh           set up what is missing (as root on Debian)
#   bash scripts/ensure-test-env.sh --check   change nothing; exit 1 naming what is missing
#
# The steps, each in its own script (which say more):
#   1. a Docker daemon                       scripts/ensure-docker.sh
#   2. host tools the test images need       scripts/ensure-host-tools.sh (Go >= 1.26 must exist)
#   3. the local test images                 images/build.sh (skips what is current)
#   4. host b, a second Docker daemon        scripts/ensure-docker-b.sh (after the images)
#   5. etcd, kube-apiserver and kustomize    scripts/ensure-kube.sh
# On a fresh machine the slow ones overlap: the Prometheus 3 compile (~10 min on 2 idle cores)
# starts first, needing neither Docker nor the host tools; the Kubernetes binaries (minutes)
# build in the background from step 2 on; everything else runs meanwhile.
#
# Without root nothing is installed or started: when something is missing, it says what and how
# to get it, and exits 1.
set -euo pipefail
cd "$(dirname "$0")/.."

check_only=0
case ${1:-} in
  --check) check_only=1 ;;
  "") ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

t0=$(date +%s%N)
elapsed() { awk -v ns="$(($(date +%s%N) - t0))" 'BEGIN { printf "%.1f s", ns / 1e9 }'; }
log() { echo "test-env: [$(elapsed)] $*"; }
logs=.cache/test-env
command -v go >/dev/null 2>&1 || [ ! -x /usr/local/go/bin/go ] || PATH=$PATH:/usr/local/go/bin

# --- what is there (checks only: nothing changes) -----------------------------------------------
docker_ok=0 tools_ok=0 kube_ok=0 hostb_ok=0
docker info >/dev/null 2>&1 && docker_ok=1
tools_msg=$(bash scripts/ensure-host-tools.sh --check 2>&1) && tools_ok=1
kube_msg=$(bash scripts/ensure-kube.sh --check 2>&1 >/dev/null) && kube_ok=1
hostb_msg="needs the Docker daemon first"
[ "$docker_ok" = 0 ] || { hostb_msg=$(bash scripts/ensure-docker-b.sh check 2>&1) && hostb_ok=1; }

docker_hint="a Docker daemon: none answers${DOCKER_HOST:+ at $DOCKER_HOST}. Start one: 'sudo bash scripts/ensure-docker.sh' (installs Debian's docker.io if needed and starts dockerd) or 'sudo systemctl start docker'"
tools_hint() { echo "host tools: ${tools_msg#ensure-host-tools: }"; }
hostb_hint() { echo "host b, the second Docker daemon (${hostb_msg#ensure-docker-b: }): 'sudo bash scripts/ensure-docker-b.sh'"; }
kube_hint() { echo "the Kubernetes test binaries ($(echo "$kube_msg" | sed -n 's/^ensure-kube: //p' | head -n 1)): 'sudo bash scripts/ensure-kube.sh'"; }

missing=()
[ "$docker_ok" = 1 ] || missing+=("$docker_hint")
[ "$tools_ok" = 1 ] || missing+=("$(tools_hint)")
[ "$hostb_ok" = 1 ] || missing+=("$(hostb_hint)")
[ "$kube_ok" = 1 ] || missing+=("$(kube_hint)")

report_missing() {
  local item
  if [ "$check_only" = 1 ]; then
    echo "test-env: missing:" >&2
  else
    echo "test-env: the tests need these, and setting them up takes root:" >&2
  fi
  for item in "$@"; do echo "  - $item" >&2; done
  if [ "$check_only" = 0 ]; then
    echo "test-env: or set up all of it at once: sudo bash scripts/ensure-test-env.sh. The set-up and the tests are" >&2
    echo "test-env: meant to run as root, as CI does: host b's keys and the Kubernetes binaries are kept in root's home." >&2
  fi
}

if [ "$check_only" = 1 ]; then
  [ ${#missing[@]} -eq 0 ] || { report_missing "${missing[@]}"; exit 1; }
  log "set up (whether the test images are current, images/build.sh tells)"
  exit 0
fi
if [ ${#missing[@]} -gt 0 ] && [ "$(id -u)" != 0 ]; then
  report_missing "${missing[@]}"
  exit 1
fi
case $tools_msg in
  *"Go >="*)
    # The one prerequisite this set-up does not install: say so before changing anything.
    echo "test-env: ${tools_msg#ensure-host-tools: }" >&2
    exit 1
    ;;
esac

# --- set up what is missing (as root; with nothing missing, only the image check runs) ---------
done_steps=()
background=()
# Background steps run in their own process groups (set -m), stopped when this script stops.
trap 'for pid in "${background[@]}"; do kill -- "-$pid" 2>/dev/null || true; done' EXIT

compile_pid=
if { [ "$docker_ok" = 0 ] || [ "$tools_ok" = 0 ]; } && command -v go >/dev/null 2>&1; then
  # Only worth starting this early when Docker or the host tools have to be installed first;
  # otherwise images/build.sh starts it itself, as early.
  mkdir -p "$logs"
  log "Prometheus 3 compile, in the background (log: $logs/prometheus3.log)"
  set -m
  bash images/prometheus3/build.sh prepare </dev/null >"$logs/prometheus3.log" 2>&1 &
  compile_pid=$!
  set +m
  background+=("$compile_pid")
fi

if [ "$docker_ok" = 0 ]; then
  log "Docker daemon: starting"
  bash scripts/ensure-docker.sh
  done_steps+=("Docker daemon")
fi

if [ "$tools_ok" = 0 ]; then
  log "host tools: installing"
  bash scripts/ensure-host-tools.sh
  done_steps+=("host tools")
fi

kube_pid=
if [ "$kube_ok" = 0 ]; then
  # After the host tools: its apt-get waits for theirs (dpkg lock), not the other way round.
  mkdir -p "$logs"
  log "Kubernetes test binaries: building in the background (log: $logs/kube.log)"
  set -m
  bash scripts/ensure-kube.sh </dev/null >"$logs/kube.log" 2>&1 &
  kube_pid=$!
  set +m
  background+=("$kube_pid")
fi

# The one step without a cheap check of its own: it is its own check. Quiet unless it builds.
images_out=$(mktemp)
if ! bash images/build.sh >"$images_out" 2>&1; then
  cat "$images_out" >&2
  rm -f "$images_out"
  log "images/build.sh failed"
  exit 1
fi
if grep -q 'built ' "$images_out"; then
  grep -v '^images: current\|is up to date\|: current ' "$images_out" | sed 's/^/    /'
  done_steps+=("test images")
fi
rm -f "$images_out"
# The build waited for the compile (or redid it); reap it.
[ -z "$compile_pid" ] || wait "$compile_pid" || true

# After the images: a rebuilt image must be copied to B, which its check notices.
if [ "$hostb_ok" = 0 ] || ! hostb_msg=$(bash scripts/ensure-docker-b.sh check 2>&1); then
  if [ "$(id -u)" != 0 ]; then
    report_missing "$(hostb_hint)"
    exit 1
  fi
  log "host b: starting (${hostb_msg#ensure-docker-b: })"
  bash scripts/ensure-docker-b.sh
  done_steps+=("host b")
fi

if [ -n "$kube_pid" ]; then
  log "waiting for the Kubernetes test binaries"
  if ! wait "$kube_pid"; then
    grep -v '^go: downloading' "$logs/kube.log" >&2 || true
    log "scripts/ensure-kube.sh failed (log: $logs/kube.log)"
    exit 1
  fi
  grep -v '^go: downloading' "$logs/kube.log" | sed 's/^/    /'
  done_steps+=("Kubernetes binaries")
fi
trap - EXIT

if [ ${#done_steps[@]} -eq 0 ]; then
  log "all set up already: Docker daemon, host tools, test images, host b, Kubernetes binaries"
else
  log "set up: $(IFS=,; echo "${done_steps[*]}" | sed 's/,/, /g')"
fi
