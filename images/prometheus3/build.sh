#!/usr/bin/env bash
# Build a real Prometheus 3 as a local test image, without any registry:
#
#   inferstack-test/prometheus:3.13   Prometheus 3.13.5 (the 3.13 LTS line) and its promtool,
#       compiled here from the Go module github.com/prometheus/prometheus@v0.313.5 (3.x releases
#       are tagged v0.3MM.P), static (CGO off, netgo, as upstream), without the web UI's assets
#       (the tests use the HTTP API only). Entrypoint, Cmd, user and workdir as in prom/prometheus.
#
# Prometheus' go.mod has a replace directive, which `go install module@version` refuses; so the
# module is downloaded (`go mod download`) and built as the main module from its own directory,
# with its own go.mod and go.sum: the dependency versions of the release.
#
# The compile takes ~10 min on 2 cores when cold. Go's module and build caches live in
# $INFERSTACK_GO_CACHE (default ~/.cache/inferstack/go), and the two binaries are kept there per
# recipe, so a rebuild of the image takes seconds. The image carries the label
# inferstack.source-hash (this script, the module version, `go version`); when the tagged image
# has the same hash nothing is done. FORCE=1 rebuilds the image (the binaries stay cached).
#
# Usage:  images/prometheus3/build.sh            the image; prints its tag
#         images/prometheus3/build.sh binaries   only compile (needs Go and the module proxy, no
#                                                Docker)
#         images/prometheus3/build.sh prepare    compile unless the image is current (or no
#                                                Docker answers yet): start it early, in the
#                                                background; a later build waits for it
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VERSION=3.13.5
MODULE=github.com/prometheus/prometheus
MODULE_VERSION=v0.313.5
# Build date stamped into `prometheus --version`: the release's, so that the same recipe always
# links the same binaries (and Go's build cache can reuse the link step).
RELEASE_DATE=20261021-10:29:46
TAG=inferstack-test/prometheus:${VERSION%.*}
HASH_LABEL=inferstack.source-hash
FORCE=${FORCE:-0}
GO_CACHE=${INFERSTACK_GO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/inferstack/go}
CLEANUP=()
trap 'rm -rf "${CLEANUP[@]}"' EXIT

log() { echo "prometheus3-image: $*" >&2; }
die() { echo "prometheus3-image: ERROR: $*" >&2; exit 1; }
elapsed() { awk -v s="$1" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }'; }

command -v go >/dev/null 2>&1 || [ ! -x /usr/local/go/bin/go ] || PATH=$PATH:/usr/local/go/bin
command -v go >/dev/null 2>&1 || die "go is not installed (Prometheus $VERSION needs Go >= 1.26: scripts/ensure-host-tools.sh)"
# Only the local toolchain (no toolchain download), module mode, no go.work of the module's.
export GOMODCACHE=$GO_CACHE/mod GOCACHE=$GO_CACHE/build GOTOOLCHAIN=local GOWORK=off GOFLAGS=-mod=readonly CGO_ENABLED=0
GO_VERSION=$(go env GOVERSION)
GOARCH=$(go env GOARCH)
# As upstream's release build (.promu.yml) minus the builtinassets tag (no web UI) and the
# revision (the module proxy does not tell the commit).
TAGS=netgo
LDFLAGS="-s -w -X github.com/prometheus/common/version.Version=$VERSION -X github.com/prometheus/common/version.Branch=release-${VERSION%.*} -X github.com/prometheus/common/version.BuildUser=inferstack-images -X github.com/prometheus/common/version.BuildDate=$RELEASE_DATE"
# The binaries depend on the compile recipe only; the image also on the rest of this script.
BIN_KEY=$(echo "$MODULE@$MODULE_VERSION $GO_VERSION linux/$GOARCH CGO_ENABLED=$CGO_ENABLED -trimpath -tags $TAGS -ldflags $LDFLAGS" | sha256sum | cut -c1-64)
HASH=$( { sha256sum "$here/build.sh" | cut -c1-64; echo "$BIN_KEY"; } | sha256sum | cut -c1-64)
OUT=$GO_CACHE/prometheus3-bin/$BIN_KEY

# binaries: compile prometheus and promtool into $OUT once per recipe. Concurrent callers (an
# early background compile, then images/build.sh) wait for each other instead of compiling twice.
binaries() {
  mkdir -p "$GO_CACHE"
  exec 8>"$GO_CACHE/prometheus3.lock"
  flock -w 1800 8 || die "another compile of Prometheus holds $GO_CACHE/prometheus3.lock for 30 minutes"
  if [ -x "$OUT/prometheus" ] && [ -x "$OUT/promtool" ] && [ -e "$OUT/.complete" ]; then
    exec 8>&-
    return 0
  fi
  # We hold the lock: a temporary directory left here is from a compile that was killed.
  rm -rf "$GO_CACHE"/prometheus3-bin.*
  local start src tmp
  start=$(date +%s.%N)
  log "compiling Prometheus $VERSION ($MODULE@$MODULE_VERSION) with $GO_VERSION; ~10 min on 2 cores with cold Go caches"
  go mod download "$MODULE@$MODULE_VERSION" || die "go mod download $MODULE@$MODULE_VERSION failed"
  src=$GOMODCACHE/$MODULE@$MODULE_VERSION
  [ -f "$src/go.mod" ] || die "no module source at $src"
  tmp=$(mktemp -d "$GO_CACHE/prometheus3-bin.XXXXXX")
  CLEANUP+=("$tmp")
  # Its output (a line per module downloaded) goes to a log, shown when it fails.
  if ! go build -C "$src" -trimpath -tags "$TAGS" -ldflags "$LDFLAGS" -o "$tmp/" ./cmd/prometheus ./cmd/promtool >"$tmp/build.log" 2>&1; then
    tail -n 40 "$tmp/build.log" >&2
    die "go build of Prometheus $VERSION failed (the end of its output is above)"
  fi
  rm -f "$tmp/build.log"
  "$tmp/prometheus" --version 2>&1 | grep -q "version $VERSION" || die "the compiled prometheus does not report version $VERSION"
  touch "$tmp/.complete"
  # Keep only the binaries of this recipe.
  rm -rf "$GO_CACHE/prometheus3-bin/"[0-9a-f]*
  mkdir -p "$GO_CACHE/prometheus3-bin"
  mv "$tmp" "$OUT"
  log "compiled Prometheus $VERSION in $(elapsed "$start")s"
  exec 8>&-
}

current() {
  [ "$FORCE" = 1 ] && return 1
  local have
  have=$(docker image inspect -f "{{ index .Config.Labels \"$HASH_LABEL\" }}" "$TAG" 2>/dev/null) || return 1
  [ "$have" = "$HASH" ]
}

image() {
  docker info >/dev/null 2>&1 || die "no Docker daemon answers (run scripts/ensure-docker.sh)"
  if current; then
    log "current  $TAG (prometheus $VERSION)"
    echo "$TAG"
    return 0
  fi
  binaries
  local start root old
  start=$(date +%s.%N)
  old=$(docker image inspect -f '{{.Id}}' "$TAG" 2>/dev/null || true)
  root=$(mktemp -d "${TMPDIR:-/tmp}/inferstack-prometheus3-root.XXXXXX")
  CLEANUP+=("$root")
  mkdir -p "$root"/{bin,etc/prometheus,prometheus,tmp}
  chmod 1777 "$root/tmp"
  cp "$OUT/prometheus" "$OUT/promtool" "$root/bin/"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  # Go's resolver reads this: files first (Docker's /etc/hosts), then DNS.
  printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$root/etc/nsswitch.conf"
  cat >"$root/etc/prometheus/prometheus.yml" <<'EOF'
# Default of the inferstack test image: Prometheus scrapes itself. Mount your own.
global:
  scrape_interval: 15s
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: [localhost:9090]
EOF
  # prom/prometheus runs as nobody and owns its data dir (and config dir) by nobody.
  if [ "$(id -u)" = 0 ]; then chown -R 65534:65534 "$root/prometheus" "$root/etc/prometheus"; else chmod 1777 "$root/prometheus"; fi
  # As prom/prometheus, minus its VOLUME (an anonymous volume per test container would leak).
  tar --numeric-owner -C "$root" -cf - . \
    | docker import \
      -c 'ENTRYPOINT ["/bin/prometheus"]' \
      -c 'CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]' \
      -c 'USER 65534:65534' \
      -c 'WORKDIR /prometheus' \
      -c 'EXPOSE 9090' \
      -c "LABEL $HASH_LABEL=$HASH" \
      -c "LABEL org.opencontainers.image.version=$VERSION" \
      -m "inferstack test image: Prometheus $VERSION compiled from $MODULE@$MODULE_VERSION with $GO_VERSION" \
      - "$TAG" >/dev/null || die "docker import of $TAG failed"
  docker run --rm --network none "$TAG" --version 2>&1 | grep -q "version $VERSION" \
    || die "$TAG was built but 'prometheus --version' does not report $VERSION inside it"
  docker run --rm --network none --entrypoint /bin/promtool "$TAG" check config /etc/prometheus/prometheus.yml >/dev/null 2>&1 \
    || die "$TAG was built but promtool rejects its default config"
  if [ -n "$old" ] && [ -z "$(docker image inspect -f '{{join .RepoTags ","}}' "$old" 2>/dev/null)" ]; then
    docker rmi "$old" >/dev/null 2>&1 || true
  fi
  log "built    $TAG (prometheus $VERSION) in $(elapsed "$start")s"
  echo "$TAG"
}

case ${1:-image} in
  image) image ;;
  binaries) binaries ;;
  prepare) if ! docker info >/dev/null 2>&1 || ! current; then binaries; fi ;;
  *) die "usage: $0 [image|binaries|prepare]" ;;
esac
