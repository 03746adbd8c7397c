#!/usr/bin/env bash
# Build the local test images (no registry, no network in any build step), only when missing or
# when their sources changed: each image carries the label inferstack.source-hash=<sha256 of its
# build inputs>, and is rebuilt when that differs.
#
#   bash images/build.sh                  # every image
#   bash images/build.sh vllm-standin     # one image (and what it is built FROM)
#   bash images/build.sh --force node     # rebuild even when up to date
#   bash images/build.sh --list           # the image names
#
# Adding an image: write `build_<name>` (dashes become underscores) that calls `image_current`
# and `image_done`, and register it with `register_image <name> [<dependency>...]`, either below
# or in a drop-in `images/<name>/image.sh`, which this script sources (keeps build.sh free of
# merge conflicts). Helpers: source_hash, image_current, image_done, log, die, $IMAGES_DIR.
# A slow step that needs no other image (a compile) goes into `prepare_<name>`: started in the
# background before the first build, so it overlaps the others; build_<name> must wait for it
# (e.g. a lock of its own) and do the work itself when the preparation failed.
set -euo pipefail

IMAGES_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
HASH_LABEL=inferstack.source-hash
# docker CLI >= 23 without buildx would refuse BuildKit; the classic builder is all we need.
export DOCKER_BUILDKIT=0

NODE_IMAGE=inferstack-test/node:20
STANDIN_IMAGE=inferstack-test/vllm-standin

IMAGE_ORDER=()
CLEANUP=()
SUPERSEDED=()
PREPARING=()
# A preparation still running when we stop (a build failed) is stopped too: its process group.
stop_preparations() {
  local pid
  for pid in "${PREPARING[@]}"; do kill -- "-$pid" 2>/dev/null || true; done
}
trap 'stop_preparations; rm -rf "${CLEANUP[@]}"' EXIT
declare -A IMAGE_DEPS=()

log() { printf 'images: %s\n' "$*" >&2; }
die() { printf 'images: ERROR: %s\n' "$*" >&2; exit 1; }

# register_image NAME [DEP...]: NAME is built by build_NAME, after its DEPs.
register_image() {
  local name=$1; shift
  IMAGE_ORDER+=("$name")
  IMAGE_DEPS[$name]="$*"
}

# source_hash DIR [EXTRA...]: sha256 over the files of DIR that go into the image (not tests, not
# docs) and any extra strings (base image ids, recipe text).
source_hash() {
  local dir=$1; shift
  {
    (cd "$dir" && find . -type f ! -name '*.test.ts' ! -name '*.md' ! -name 'image.sh' -print0 \
      | LC_ALL=C sort -z | xargs -0 -r sha256sum)
    printf '%s\n' "$@"
  } | sha256sum | cut -c1-64
}

# image_current TAG HASH: true when TAG exists with label HASH.
image_current() {
  local have
  have=$(docker image inspect -f "{{ index .Config.Labels \"$HASH_LABEL\" }}" "$1" 2>/dev/null) || return 1
  [ "$have" = "$2" ]
}

image_id() { docker image inspect -f '{{.Id}}' "$1"; }

# supersede TAG...: remember the images these tags point to now; after all builds, those no
# longer tagged are removed (failures ignored: a container may still use one).
supersede() {
  local tag id
  for tag in "$@"; do
    id=$(docker image inspect -f '{{.Id}}' "$tag" 2>/dev/null) && SUPERSEDED+=("$id")
  done
  return 0
}

remove_superseded() {
  local i id
  for ((i = ${#SUPERSEDED[@]} - 1; i >= 0; i--)); do
    id=${SUPERSEDED[$i]}
    [ -z "$(docker image inspect -f '{{join .RepoTags ","}}' "$id" 2>/dev/null)" ] || continue
    docker rmi "$id" >/dev/null 2>&1 || true
  done
}

# docker_build TAG ARGS...: `docker build -t TAG ARGS...`, quiet unless it fails.
docker_build() {
  local tag=$1 out; shift
  if ! out=$(docker build -t "$tag" "$@" 2>&1); then
    printf '%s\n' "$out" >&2
    die "docker build of $tag failed"
  fi
}

# image_done TAG START_SECONDS: report a build.
image_done() {
  local secs size
  secs=$(awk -v s="$2" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
  size=$(docker image inspect -f '{{.Size}}' "$1" | awk '{ printf "%.0f MB", $1 / 1e6 }')
  log "built    $1 in ${secs}s ($size)"
}

# ---------------------------------------------------------------------------------------------
# inferstack-test/node:20 — the host's Node binary and the libraries ldd lists for it, plus
# /bin/sh (dash, so CMD-SHELL healthchecks and `docker exec sh` work), imported as a root fs.
build_node() {
  local node_bin dash_bin hash start root
  node_bin=$(readlink -f "$(command -v node)") || die "node is not installed on this host"
  dash_bin=$(readlink -f "$(command -v dash || echo /bin/dash)")
  [ -x "$dash_bin" ] || die "dash (/bin/sh of Debian) is missing"
  command -v ldd >/dev/null || die "ldd is missing (apt-get install libc-bin)"
  local libs
  libs=$( (ldd "$node_bin"; ldd "$dash_bin") | awk '/=> \// { print $3 } /^[ \t]*\/[^ ]+ \(/ { print $1 }' | sort -u)
  hash=$( { sha256sum "$node_bin" "$dash_bin"; for l in $libs; do sha256sum "$(readlink -f "$l")"; done; declare -f build_node; } \
    | sha256sum | cut -c1-64)
  if image_current "$NODE_IMAGE" "$hash"; then
    log "current  $NODE_IMAGE (node $("$node_bin" --version))"
    return 0
  fi
  start=$(date +%s.%N)
  supersede "$NODE_IMAGE"
  root=$(mktemp -d "${TMPDIR:-/tmp}/inferstack-node-root.XXXXXX")
  CLEANUP+=("$root")
  # Debian 12's merged-/usr layout: /bin, /lib, /lib64 are links into /usr.
  mkdir -p "$root"/usr/{bin,lib,lib64,local/bin,sbin} "$root"/{etc,tmp,root,var/tmp}
  ln -s usr/bin "$root/bin"; ln -s usr/lib "$root/lib"; ln -s usr/lib64 "$root/lib64"; ln -s usr/sbin "$root/sbin"
  chmod 1777 "$root/tmp" "$root/var/tmp"; chmod 700 "$root/root"
  cp "$node_bin" "$root/usr/local/bin/node"
  cp "$dash_bin" "$root/usr/bin/dash"; ln -s dash "$root/usr/bin/sh"
  local l dest
  for l in $libs; do
    dest=$l
    case $dest in /lib/*|/lib64/*) dest=/usr$dest ;; esac
    mkdir -p "$root$(dirname "$dest")"
    cp -L "$l" "$root$dest"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$root/etc/nsswitch.conf"
  printf 'NAME="inferstack test base"\nID=inferstack-test\nPRETTY_NAME="inferstack test base: Node %s with host libraries"\n' \
    "$("$node_bin" --version)" >"$root/etc/os-release"
  tar --numeric-owner --owner=0 --group=0 -C "$root" -cf - . \
    | docker import \
      -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      -c 'CMD ["node"]' \
      -c "LABEL $HASH_LABEL=$hash" \
      -m "inferstack test base: host node $("$node_bin" --version)" \
      - "$NODE_IMAGE" >/dev/null || die "docker import of $NODE_IMAGE failed"
  docker run --rm --network none "$NODE_IMAGE" node -e 'require("node:http"); process.exit(0)' \
    || die "$NODE_IMAGE was built but 'node -e' fails inside it"
  image_done "$NODE_IMAGE" "$start"
}

# ---------------------------------------------------------------------------------------------
# inferstack-test/vllm-standin:latest (Entrypoint vllm serve) and :legacy (python3 -m
# vllm.entrypoints.openai.api_server), FROM the node image.
build_vllm_standin() {
  local dir=$IMAGES_DIR/vllm-standin hash start target
  hash=$(source_hash "$dir" "base=$(image_id "$NODE_IMAGE")")
  if image_current "$STANDIN_IMAGE:latest" "$hash" && image_current "$STANDIN_IMAGE:legacy" "$hash"; then
    log "current  $STANDIN_IMAGE:latest, :legacy"
    return 0
  fi
  start=$(date +%s.%N)
  supersede "$STANDIN_IMAGE:latest" "$STANDIN_IMAGE:legacy"
  for target in latest legacy; do
    docker_build "$STANDIN_IMAGE:$target" --target "$target" --build-arg "BASE=$NODE_IMAGE" \
      --label "$HASH_LABEL=$hash" "$dir"
  done
  docker run --rm --network none --entrypoint node "$STANDIN_IMAGE:latest" \
    -e 'import("/opt/vllm-standin/lib.mjs").then(() => process.exit(0), (e) => { console.error(e); process.exit(1); })' \
    || die "$STANDIN_IMAGE:latest was built but its modules do not load"
  image_done "$STANDIN_IMAGE:latest" "$start"
}

register_image node
register_image vllm-standin node

# Drop-ins: images/<name>/image.sh defines build_<name> and calls register_image.
for dropin in "$IMAGES_DIR"/*/image.sh; do
  [ -e "$dropin" ] || continue
  # shellcheck disable=SC1090
  source "$dropin"
done

# ---------------------------------------------------------------------------------------------
main() {
  local wanted=() name
  for arg in "$@"; do
    case $arg in
      --force) ;; # handled below main's definition
      --list) printf '%s\n' "${IMAGE_ORDER[@]}"; return 0 ;;
      -h|--help) sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; return 0 ;;
      -*) die "unknown option $arg" ;;
      *) [ -n "${IMAGE_DEPS[$arg]+x}" ] || die "unknown image '$arg' (known: ${IMAGE_ORDER[*]})"; wanted+=("$arg") ;;
    esac
  done
  [ ${#wanted[@]} -gt 0 ] || wanted=("${IMAGE_ORDER[@]}")

  # Close over dependencies, keep registration order.
  declare -A selected=()
  local changed=1 dep
  for name in "${wanted[@]}"; do selected[$name]=1; done
  while [ $changed = 1 ]; do
    changed=0
    for name in "${!selected[@]}"; do
      for dep in ${IMAGE_DEPS[$name]}; do
        if [ -z "${selected[$dep]+x}" ]; then selected[$dep]=1; changed=1; fi
      done
    done
  done

  docker info >/dev/null 2>&1 || die "no Docker daemon answers (run scripts/ensure-docker.sh)"
  # Several test runs may build at once on one daemon: one builder at a time.
  exec 9>"${TMPDIR:-/tmp}/inferstack-images.lock"
  flock -w 900 9 || die "another images/build.sh holds the lock for 15 minutes"

  local t0 fn pid
  t0=$(date +%s.%N)
  for name in "${IMAGE_ORDER[@]}"; do
    [ -n "${selected[$name]+x}" ] || continue
    fn=prepare_${name//-/_}
    declare -F "$fn" >/dev/null || continue
    # Own process group (set -m), so that stop_preparations reaches its children; no stdin, and
    # not the builders' lock (fd 9), which must go when this script does.
    set -m
    ( exec 9>&-; "$fn" ) </dev/null &
    PREPARING+=($!)
    set +m
  done
  for name in "${IMAGE_ORDER[@]}"; do
    [ -n "${selected[$name]+x}" ] || continue
    fn=build_${name//-/_}
    declare -F "$fn" >/dev/null || die "image '$name' has no function $fn"
    "$fn"
  done
  # Each build has waited for its preparation; reap them (a failure was redone by the build).
  for pid in "${PREPARING[@]}"; do wait "$pid" || true; done
  PREPARING=()
  remove_superseded
  log "done in $(awk -v s="$t0" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')s"
}

# --force: make image_current always report "stale".
if [[ " $* " == *" --force "* ]]; then
  image_current() { return 1; }
fi

main "$@"
