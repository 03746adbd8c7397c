#!/usr/bin/env bash
# Build a real Prometheus (and node-exporter) as local test images, without any registry:
#
#   inferstack-test/prometheus:<major.minor>   (2.42 on Debian 12) and :latest
#       /bin/prometheus and /bin/promtool from Debian's `prometheus` package, the libraries
#       `ldd` lists for them (libc only), the web assets, /etc/prometheus/prometheus.yml and a
#       data dir /prometheus owned by nobody. Entrypoint, Cmd and user as in prom/prometheus.
#   inferstack-test/node-exporter:<major.minor> (1.5) and :latest
#       /bin/node_exporter from Debian's `prometheus-node-exporter`, same recipe.
#
# Each image is a root filesystem made here, tarred and `docker import`ed (a few seconds). It
# carries the label inferstack.source-hash (binaries, libraries, assets, this script); when the
# tagged image already has the same hash nothing is done. FORCE=1 rebuilds anyway.
#
# Usage:  images/prometheus/build.sh [prometheus|node-exporter]...   (default: both)
# Prints the tags of the images that are now current, one per line.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
HASH_LABEL=inferstack.source-hash
FORCE=${FORCE:-0}
CLEANUP=()
trap 'rm -rf "${CLEANUP[@]}"' EXIT

log() { echo "prometheus-image: $*" >&2; }
die() { echo "prometheus-image: ERROR: $*" >&2; exit 1; }

# current TAG HASH: true when TAG exists with label HASH (and FORCE is off).
current() {
  [ "$FORCE" = 1 ] && return 1
  local have
  have=$(docker image inspect -f "{{ index .Config.Labels \"$HASH_LABEL\" }}" "$1" 2>/dev/null) || return 1
  [ "$have" = "$2" ]
}

# libs_of BIN...: the absolute paths of the shared objects ldd lists (incl. the loader).
libs_of() {
  ldd "$@" | awk '/=> \// { print $3 } /^[ \t]*\/[^ ]+ \(/ { print $1 }' | sort -u
}

# new_root NAME: sets ROOT to a new, empty root filesystem with users, nsswitch and /tmp (not in
# a subshell, so that the EXIT trap removes it).
new_root() {
  ROOT=$(mktemp -d "${TMPDIR:-/tmp}/inferstack-$1-root.XXXXXX")
  CLEANUP+=("$ROOT")
  local root=$ROOT
  mkdir -p "$root"/{bin,etc,tmp}
  chmod 1777 "$root/tmp"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  # Go reads this to choose its resolver: files first (Docker's /etc/hosts), then DNS.
  printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$root/etc/nsswitch.conf"
}

# copy_libs ROOT LIB...: copy each library to the same path inside ROOT (dereferenced).
copy_libs() {
  local root=$1 l; shift
  for l in "$@"; do
    mkdir -p "$root$(dirname "$l")"
    cp -L "$l" "$root$l"
  done
}

# import ROOT TAG HASH VERSION CHANGE...: tar ROOT (numeric owners as on disk) into TAG.
import_root() {
  local root=$1 tag=$2 hash=$3 version=$4; shift 4
  local changes=() c
  for c in "$@" "LABEL $HASH_LABEL=$hash" "LABEL org.opencontainers.image.version=$version"; do
    changes+=(-c "$c")
  done
  tar --numeric-owner -C "$root" -cf - . \
    | docker import "${changes[@]}" -m "inferstack test image from the host's Debian package ($version)" - "$tag" >/dev/null \
    || die "docker import of $tag failed"
}

# owned_by_nobody DIR: the data dir must be writable by the unprivileged user the image runs as.
owned_by_nobody() {
  if [ "$(id -u)" = 0 ]; then chown 65534:65534 "$1"; else chmod 1777 "$1"; fi
}

# supersede TAG: remember the image TAG points to now, to remove it once replaced.
OLD_IDS=()
supersede() {
  local id
  id=$(docker image inspect -f '{{.Id}}' "$1" 2>/dev/null) && OLD_IDS+=("$id")
  return 0
}
remove_superseded() {
  local id
  for id in "${OLD_IDS[@]}"; do
    [ -z "$(docker image inspect -f '{{join .RepoTags ","}}' "$id" 2>/dev/null)" ] || continue
    docker rmi "$id" >/dev/null 2>&1 || true
  done
}

elapsed() { awk -v s="$1" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }'; }

build_prometheus() {
  local prom promtool assets version minor tag hash start root
  prom=$(command -v prometheus) || die "prometheus is not installed (apt-get install prometheus)"
  promtool=$(command -v promtool) || die "promtool is missing (it comes with Debian's prometheus package)"
  prom=$(readlink -f "$prom"); promtool=$(readlink -f "$promtool")
  assets=/usr/share/prometheus/web
  version=$("$prom" --version 2>&1 | awk 'NR == 1 { print $3 }')
  version=${version%%+*}
  minor=$(echo "$version" | cut -d. -f1,2)
  [ -n "$minor" ] || die "cannot read the version of $prom"
  tag=inferstack-test/prometheus:$minor
  local libs
  libs=$(libs_of "$prom" "$promtool")
  hash=$( {
    sha256sum "$prom" "$promtool"
    for l in $libs; do sha256sum "$(readlink -f "$l")"; done
    [ -d "$assets" ] && (cd "$assets" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum)
    sha256sum "$here/build.sh" | cut -c1-64
  } | sha256sum | cut -c1-64)
  if current "$tag" "$hash" && current inferstack-test/prometheus:latest "$hash"; then
    log "current  $tag (prometheus $version)"
    echo "$tag"
    return 0
  fi
  start=$(date +%s.%N)
  supersede "$tag"; supersede inferstack-test/prometheus:latest
  new_root prometheus; root=$ROOT
  cp "$prom" "$root/bin/prometheus"
  cp "$promtool" "$root/bin/promtool"
  # shellcheck disable=SC2086
  copy_libs "$root" $libs
  if [ -d "$assets" ]; then
    mkdir -p "$root/usr/share/prometheus"
    cp -r "$assets" "$root/usr/share/prometheus/web"
  fi
  mkdir -p "$root/etc/prometheus" "$root/prometheus"
  cat >"$root/etc/prometheus/prometheus.yml" <<'EOF'
# Default of the inferstack test image: Prometheus scrapes itself. Mount your own.
global:
  scrape_interval: 15s
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: [localhost:9090]
EOF
  owned_by_nobody "$root/prometheus"
  # As prom/prometheus, minus its VOLUME (an anonymous volume per test container would leak).
  import_root "$root" "$tag" "$hash" "$version" \
    'ENTRYPOINT ["/bin/prometheus"]' \
    'CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]' \
    'USER 65534:65534' \
    'WORKDIR /prometheus' \
    'EXPOSE 9090'
  docker tag "$tag" inferstack-test/prometheus:latest
  docker run --rm --network none "$tag" --version >/dev/null 2>&1 \
    || die "$tag was built but 'prometheus --version' fails inside it"
  docker run --rm --network none --entrypoint /bin/promtool "$tag" check config /etc/prometheus/prometheus.yml >/dev/null 2>&1 \
    || die "$tag was built but promtool rejects its default config"
  log "built    $tag (prometheus $version) in $(elapsed "$start")s"
  echo "$tag"
}

build_node_exporter() {
  local bin version minor tag hash start root libs
  bin=$(command -v prometheus-node-exporter || command -v node_exporter) \
    || die "node-exporter is not installed (apt-get install prometheus-node-exporter)"
  bin=$(readlink -f "$bin")
  version=$("$bin" --version 2>&1 | awk 'NR == 1 { print $3 }')
  minor=$(echo "$version" | cut -d. -f1,2)
  [ -n "$minor" ] || die "cannot read the version of $bin"
  tag=inferstack-test/node-exporter:$minor
  libs=$(libs_of "$bin")
  hash=$( {
    sha256sum "$bin"
    for l in $libs; do sha256sum "$(readlink -f "$l")"; done
    sha256sum "$here/build.sh" | cut -c1-64
  } | sha256sum | cut -c1-64)
  if current "$tag" "$hash" && current inferstack-test/node-exporter:latest "$hash"; then
    log "current  $tag (node_exporter $version)"
    echo "$tag"
    return 0
  fi
  start=$(date +%s.%N)
  supersede "$tag"; supersede inferstack-test/node-exporter:latest
  new_root node-exporter; root=$ROOT
  cp "$bin" "$root/bin/node_exporter"
  # shellcheck disable=SC2086
  copy_libs "$root" $libs
  import_root "$root" "$tag" "$hash" "$version" \
    'ENTRYPOINT ["/bin/node_exporter"]' \
    'USER 65534:65534' \
    'EXPOSE 9100'
  docker tag "$tag" inferstack-test/node-exporter:latest
  docker run --rm --network none "$tag" --version >/dev/null 2>&1 \
    || die "$tag was built but 'node_exporter --version' fails inside it"
  log "built    $tag (node_exporter $version) in $(elapsed "$start")s"
  echo "$tag"
}

main() {
  local wanted=("$@") name
  [ ${#wanted[@]} -gt 0 ] || wanted=(prometheus node-exporter)
  command -v ldd >/dev/null || die "ldd is missing (apt-get install libc-bin)"
  docker info >/dev/null 2>&1 || die "no Docker daemon answers (run scripts/ensure-docker.sh)"
  for name in "${wanted[@]}"; do
    case $name in
      prometheus) build_prometheus ;;
      node-exporter) build_node_exporter ;;
      *) die "unknown image '$name' (known: prometheus node-exporter)" ;;
    esac
  done
  remove_superseded
}

main "$@"
