#!/usr/bin/env bash
# What the tests in test/kube/ need to check what `serve export kubernetes` writes against the real
# thing: etcd from Debian's archive (etcd-server), kube-apiserver built from the Go module proxy,
# and kustomize (`go install` from the Go module proxy). Nothing of them is kept in this repository:
# the binaries are cached outside it, and a build is skipped when the cached binary is current.
#
#   bash scripts/ensure-kube.sh           install etcd, build kube-apiserver and kustomize if missing
#   bash scripts/ensure-kube.sh --check   install nothing; exit 1 when something is missing
#
# Both print `etcd=PATH`, `kube-apiserver=PATH` and `kustomize=PATH` (test/support/kube.ts reads
# them). Installing needs root on Debian (apt-get) and the Go toolchain; safe to run again and
# concurrently (a lock serialises builds). Versions: INFERSTACK_KUBE_VERSION (default below),
# INFERSTACK_KUSTOMIZE_VERSION; cache: INFERSTACK_KUBE_CACHE (default ~/.cache/inferstack/kube).
#
# Why kube-apiserver is built this way: `go install k8s.io/kubernetes/cmd/kube-apiserver@...` is
# refused, because the k8s.io/kubernetes go.mod replaces its staging modules (k8s.io/api,
# k8s.io/apiserver, ...) with local directories that the module zip does not contain. Those
# modules are published on their own as v0.MINOR.PATCH for Kubernetes v1.MINOR.PATCH, so the build
# drops the replace lines and requires the published versions instead.
set -euo pipefail

KUBE_VERSION=${INFERSTACK_KUBE_VERSION:-1.34.0}
# 5.8.2 is the newest kustomize whose go.mod this machine's Go (1.26) accepts.
KUSTOMIZE_VERSION=${INFERSTACK_KUSTOMIZE_VERSION:-5.8.2}
cache_root=${INFERSTACK_KUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/inferstack/kube}
apiserver=$cache_root/v$KUBE_VERSION/kube-apiserver
kustomize=$cache_root/kustomize-v$KUSTOMIZE_VERSION/kustomize

check_only=0
[ "${1:-}" = "--check" ] && check_only=1

log() { echo "ensure-kube: $*" >&2; }

# A cached binary counts only when it runs and says it is the wanted version.
apiserver_ok() { [ -x "$apiserver" ] && "$apiserver" --version 2>/dev/null | grep -qx "Kubernetes v$KUBE_VERSION"; }
kustomize_ok() { [ -x "$kustomize" ] && "$kustomize" version 2>/dev/null | grep -qx "v$KUSTOMIZE_VERSION"; }
etcd_path() { command -v etcd 2>/dev/null || true; }

report() {
  echo "etcd=$(etcd_path)"
  echo "kube-apiserver=$apiserver"
  echo "kustomize=$kustomize"
}

if [ "$check_only" = 1 ]; then
  missing=0
  if [ -z "$(etcd_path)" ]; then log "etcd is not installed"; missing=1; fi
  if ! apiserver_ok; then log "kube-apiserver v$KUBE_VERSION is not built at $apiserver"; missing=1; fi
  if ! kustomize_ok; then log "kustomize v$KUSTOMIZE_VERSION is not built at $kustomize"; missing=1; fi
  if [ "$missing" = 1 ]; then
    log "run 'bash scripts/ensure-kube.sh' (as root on Debian; the first kube-apiserver build takes minutes)"
    exit 1
  fi
  report
  exit 0
fi

# --- etcd -----------------------------------------------------------------------------------
if [ -z "$(etcd_path)" ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    log "etcd is missing; install it (Debian/Ubuntu: apt-get install etcd-server)"
    exit 1
  fi
  log "installing etcd-server from Debian's archive..."
  export DEBIAN_FRONTEND=noninteractive
  # Another installer may hold the dpkg lock: wait for it rather than fail.
  apt_opts=(-o DPkg::Lock::Timeout=600)
  apt-get "${apt_opts[@]}" update -qq
  # Only the binary is wanted: the tests start their own etcd on loopback with a temp data dir.
  apt-get "${apt_opts[@]}" install -y -qq --no-install-recommends etcd-server >/dev/null
fi

# --- kube-apiserver and kustomize -----------------------------------------------------------
build_apiserver() {
  local started staging_version src work pkg ldflags
  started=$(date +%s)
  staging_version=v0.${KUBE_VERSION#1.}
  log "building kube-apiserver v$KUBE_VERSION from the Go module proxy (staging modules $staging_version); takes minutes..."
  src=$(go mod download -json "k8s.io/kubernetes@v$KUBE_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -n "$src" ] && [ -f "$src/go.mod" ] || { log "go mod download gave no source directory"; return 1; }
  mkdir -p "$(dirname "$apiserver")"
  work=$(mktemp -d "$(dirname "$apiserver")/build.XXXXXX")
  # The module cache is read-only; the build edits go.mod and go.sum in a copy.
  cp -r "$src/." "$work/"
  chmod -R u+w "$work"
  # Drop `k8s.io/X => ./staging/src/k8s.io/X` and require the published `k8s.io/X v0.M.P`
  # instead of the placeholder v0.0.0. The vendor tree and go.work are not used.
  sed -i -E \
    -e '/^[[:space:]]*k8s\.io\/[A-Za-z0-9._-]+ => \.\/staging\//d' \
    -e "s#^([[:space:]]*k8s\\.io/[A-Za-z0-9._-]+) v0\\.0\\.0\$#\\1 $staging_version#" \
    "$work/go.mod"
  if grep -q '=> ./staging/' "$work/go.mod"; then log "go.mod still replaces staging modules"; rm -rf "$work"; return 1; fi
  rm -rf "$work/vendor" "$work/go.work" "$work/go.work.sum"
  pkg=k8s.io/component-base/version
  ldflags="-s -w -X $pkg.gitVersion=v$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$(echo "$KUBE_VERSION" | cut -d. -f2)"
  if ! (cd "$work" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$apiserver.new" ./cmd/kube-apiserver); then
    rm -rf "$work"
    return 1
  fi
  rm -rf "$work"
  mv -f "$apiserver.new" "$apiserver"
  apiserver_ok || { log "the built kube-apiserver does not report v$KUBE_VERSION"; return 1; }
  log "built kube-apiserver v$KUBE_VERSION in $(( $(date +%s) - started ))s"
}

build_kustomize() {
  local started
  started=$(date +%s)
  log "building kustomize v$KUSTOMIZE_VERSION from the Go module proxy..."
  mkdir -p "$(dirname "$kustomize")"
  GOBIN=$(dirname "$kustomize") GOFLAGS= CGO_ENABLED=0 go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kustomize/kustomize/v5@v$KUSTOMIZE_VERSION"
  kustomize_ok || { log "the built kustomize does not report v$KUSTOMIZE_VERSION"; return 1; }
  log "built kustomize v$KUSTOMIZE_VERSION in $(( $(date +%s) - started ))s"
}

if ! apiserver_ok || ! kustomize_ok; then
  if ! command -v go >/dev/null 2>&1; then
    log "kube-apiserver and kustomize are built with Go, and the Go toolchain is missing"
    exit 1
  fi
  mkdir -p "$cache_root"
  exec 9>"$cache_root/.build.lock"
  flock 9
  # A module and build cache of our own: nothing else on the machine can remove it mid-build or
  # be disturbed by it. Kept when a build fails (the retry is faster), removed after success.
  export GOMODCACHE=$cache_root/go/mod GOCACHE=$cache_root/go/build GOWORK=off GOTOOLCHAIN=local
  # Someone else may have built them while we waited for the lock.
  apiserver_ok || build_apiserver
  kustomize_ok || build_kustomize
  go clean -modcache
  rm -rf "$cache_root/go"
  exec 9>&-
fi

report
