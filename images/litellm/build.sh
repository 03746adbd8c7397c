#!/usr/bin/env bash
# Build the real LiteLLM proxy as a local test image, without any container registry:
#
#   1. inferstack-test/debian-python:bookworm: a Debian 12 root filesystem made by debootstrap
#      (Python 3.11 + venv) and turned into an image with `docker import` (shared with other
#      test images; built once, reused when the tag exists).
#   2. The wheels in requirements.lock (litellm[proxy] + prometheus_client, every file pinned by
#      sha256) are downloaded on the host with `pip download` into a cache outside git.
#   3. inferstack-test/litellm:<version>: `docker build --network none` FROM the base, installing
#      the wheels offline into /opt/litellm.
#
# The image carries the label inferstack.source-hash (Dockerfile + lock + base image id); when the
# tagged image already has the same hash nothing is done. FORCE=1 rebuilds anyway.
#
# Usage:  images/litellm/build.sh              build (or confirm) the image, print its tag
#         images/litellm/build.sh --relock VER  regenerate requirements.lock for litellm VER
#         images/litellm/build.sh --relock VER NAME==V...
#                                               the same, where litellm's proxy extra pins a
#                                               release PyPI does not have: NAME==V stands in
#
# Environment: INFERSTACK_CACHE_DIR (default ${XDG_CACHE_HOME:-$HOME/.cache}/inferstack),
# INFERSTACK_TEST_IMAGE_PREFIX (default inferstack-test),
# DEBIAN_MIRROR (default http://deb.debian.org/debian), PIP (default: pip3, else pip).
set -euo pipefail
# The classic builder: a docker CLI >= 23 without buildx would otherwise warn or refuse.
export DOCKER_BUILDKIT=0

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
lock="$here/requirements.lock"
cache=${INFERSTACK_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/inferstack}
# INFERSTACK_TEST_IMAGE_PREFIX: another tag namespace, e.g. to time a cold build beside the real one.
prefix=${INFERSTACK_TEST_IMAGE_PREFIX:-inferstack-test}
base_image=$prefix/debian-python:bookworm
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
pip_cmd=${PIP:-$(command -v pip3 || command -v pip)}
# The wheels must fit the Python of the base image (Debian 12: CPython 3.11, glibc 2.36).
pip_target=(--only-binary=:all: --python-version 3.11 --implementation cp
  --platform manylinux2014_x86_64 --platform manylinux_2_28_x86_64)
# pip download evaluates environment markers with the *host's* Python, not the target's: name the
# packages the target (CPython 3.11.2) needs but a newer host Python would skip. The image build
# runs `pip check`, so a missing one fails the build instead of the proxy at run time.
marker_extras=(
  'async-timeout' # redis: python_full_version < "3.11.3"
)
# The official image also installs the Prisma client package (its `extra-proxy` extra). Without
# it, LiteLLM's error handlers fail on `import prisma` and answer a bare "500 Internal Server
# Error" where the official image answers 401 or a JSON error. Only the Python package: no
# `prisma generate`, no engine binaries (those cannot be downloaded here; config-file mode needs none).
official_extras=(
  'prisma'
)
ctx=

log() { echo "litellm-image: $*" >&2; }

relock() {
  local version=$1 tmp sub
  shift
  # NAME==VERSION: a pin of litellm's proxy extra that PyPI does not have, and the published
  # release that stands in for it (see the lock's header and docs/upstream/litellm.md).
  local substitutes=("$@")
  case $version in
    1.82.7 | 1.82.8 | 1.107.0)
      log "refusing $version: a compromised LiteLLM release (see packages/litellm-sync/README.md)"
      exit 1
      ;;
  esac
  for sub in "${substitutes[@]}"; do
    [[ $sub =~ ^[A-Za-z0-9._-]+==[A-Za-z0-9._-]+$ ]] || { log "a substitute is NAME==VERSION, not '$sub'"; exit 2; }
  done
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  local wanted=("litellm[proxy]==$version")
  if [ ${#substitutes[@]} -gt 0 ]; then
    # litellm without its proxy extra, plus that extra's requirements as its wheel declares them,
    # with the substituted pins replaced.
    mkdir "$tmp/meta"
    "$pip_cmd" download --disable-pip-version-check -q -d "$tmp/meta" "${pip_target[@]}" --no-deps "litellm==$version"
    python3 - "$tmp/meta" "${substitutes[@]}" >"$tmp/proxy-extra.txt" <<'EOF'
import glob, re, sys, zipfile
meta_dir, subs = sys.argv[1], dict(s.split("==", 1) for s in sys.argv[2:])
norm = lambda n: re.sub(r"[-_.]+", "-", n).lower()
subs = {norm(k): v for k, v in subs.items()}
(wheel,) = glob.glob(f"{meta_dir}/litellm-*.whl")
with zipfile.ZipFile(wheel) as z:
    (name,) = [n for n in z.namelist() if n.endswith(".dist-info/METADATA")]
    lines = z.read(name).decode().splitlines()
found = set()
for line in lines:
    if not line.startswith("Requires-Dist:") or "extra == 'proxy'" not in line:
        continue
    req = line[len("Requires-Dist:"):].strip()
    req = re.sub(r"\s*(;|and)\s*extra == 'proxy'", "", req).strip()
    pkg = norm(re.match(r"[A-Za-z0-9._-]+", req).group(0))
    if pkg in subs:
        found.add(pkg)
        req = f"{pkg}=={subs[pkg]}"
    print(req)
missing = set(subs) - found
if missing:
    sys.exit(f"not pinned by litellm's proxy extra: {', '.join(sorted(missing))}")
EOF
    wanted=("litellm==$version" -r "$tmp/proxy-extra.txt")
    log "resolving litellm==$version and its proxy extra with ${substitutes[*]} for CPython 3.11 / manylinux x86-64"
  else
    log "resolving litellm[proxy]==$version for CPython 3.11 / manylinux x86-64"
  fi
  mkdir "$tmp/wheels"
  "$pip_cmd" download --disable-pip-version-check -q -d "$tmp/wheels" "${pip_target[@]}" \
    "${wanted[@]}" prometheus_client "${official_extras[@]}" "${marker_extras[@]}"
  python3 - "$tmp/wheels" "$version" "${substitutes[@]}" >"$tmp/requirements.lock" <<'EOF'
import hashlib, os, re, sys
d, version, subs = sys.argv[1], sys.argv[2], sys.argv[3:]
args = " ".join([version, *subs])
print(f"# Generated by `images/litellm/build.sh --relock {args}`: pip download of litellm[proxy]=={version},")
print("# prometheus_client, prisma and async-timeout for CPython 3.11 / manylinux x86-64.")
if subs:
    print(f"# litellm's proxy extra pins releases that are not on PyPI; these published ones stand in: {', '.join(subs)}.")
print("# Every wheel is pinned by hash. Do not edit by hand.")
for f in sorted(os.listdir(d), key=str.lower):
    if not f.endswith(".whl"):
        sys.exit(f"not a wheel: {f}")
    name, ver = f.split("-")[0:2]
    name = re.sub(r"[-_.]+", "-", name).lower()
    with open(os.path.join(d, f), "rb") as fh:
        digest = hashlib.sha256(fh.read()).hexdigest()
    print(f"{name}=={ver} --hash=sha256:{digest}")
EOF
  mv "$tmp/requirements.lock" "$lock"
  log "wrote $lock ($(grep -c -- '--hash=' "$lock") wheels)"
}

ensure_base() {
  if docker image inspect "$base_image" >/dev/null 2>&1; then
    return
  fi
  mkdir -p "$cache"
  # Another build script may be making the same base right now: build it once.
  exec 9>"$cache/debian-python.lock"
  flock 9
  if docker image inspect "$base_image" >/dev/null 2>&1; then
    exec 9>&-
    return
  fi
  if ! command -v debootstrap >/dev/null 2>&1; then
    log "installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  fi
  local rootfs
  rootfs=$(mktemp -d "$cache/rootfs.XXXXXX")
  log "debootstrap bookworm (minbase + python3, python3-venv) into $rootfs"
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates,curl \
    bookworm "$rootfs" "$mirror" >"$cache/debootstrap.log" 2>&1 || {
    tail -n 20 "$cache/debootstrap.log" >&2
    rm -rf "$rootfs"
    exit 1
  }
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/tmp/*
  log "docker import -> $base_image"
  tar --numeric-owner -C "$rootfs" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["/bin/bash"]' \
    - "$base_image" >/dev/null
  rm -rf "$rootfs"
  exec 9>&-
}

fetch_wheels() {
  local dir=$1 stamp
  stamp=$(sha256sum "$lock" | cut -c1-16)
  if [ -f "$dir/.complete" ] && [ "$(cat "$dir/.complete")" = "$stamp" ]; then
    return
  fi
  mkdir -p "$dir"
  log "downloading $(grep -c -- '--hash=' "$lock") wheels into $dir"
  "$pip_cmd" download --disable-pip-version-check -q -d "$dir" "${pip_target[@]}" \
    --no-deps --require-hashes -r "$lock"
  echo "$stamp" >"$dir/.complete"
}

build() {
  local version image source_hash current start
  version=$(sed -n 's/^litellm==\([^ ]*\) .*/\1/p' "$lock")
  [ -n "$version" ] || { log "no litellm pin in $lock"; exit 1; }
  image=$prefix/litellm:$version
  start=$(date +%s)

  ensure_base
  source_hash=$(
    {
      cat "$here/Dockerfile" "$lock"
      docker image inspect -f '{{.Id}}' "$base_image"
    } | sha256sum | cut -c1-16
  )
  current=$(docker image inspect -f '{{ index .Config.Labels "inferstack.source-hash" }}' "$image" 2>/dev/null || true)
  if [ "$current" = "$source_hash" ] && [ "${FORCE:-0}" != 1 ]; then
    log "$image is up to date (source hash $source_hash)"
    echo "$image"
    return
  fi

  local wheels="$cache/wheels/litellm-$version"
  fetch_wheels "$wheels"

  ctx=$(mktemp -d "$cache/litellm-context.XXXXXX")
  trap '[ -z "$ctx" ] || rm -rf "$ctx"' EXIT
  cp "$here/Dockerfile" "$lock" "$ctx/"
  mkdir "$ctx/wheels"
  # Hard links when the cache shares a filesystem with the context (it does: both in $cache).
  cp -l "$wheels"/*.whl "$ctx/wheels/" 2>/dev/null || cp "$wheels"/*.whl "$ctx/wheels/"

  log "docker build $image (offline, --network none)"
  local previous out
  previous=$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)
  if ! out=$(docker build --network none --force-rm \
    --build-arg "BASE=$base_image" \
    --label "inferstack.source-hash=$source_hash" \
    --label "inferstack.litellm-version=$version" \
    -t "$image" "$ctx" 2>&1); then
    printf '%s\n' "$out" >&2
    log "docker build of $image failed"
    exit 1
  fi
  # The image this tag named before is now untagged: drop it unless a container still uses it.
  if [ -n "$previous" ] && [ "$previous" != "$(docker image inspect -f '{{.Id}}' "$image")" ]; then
    docker rmi "$previous" >/dev/null 2>&1 || true
  fi
  log "built $image in $(($(date +%s) - start)) s"
  echo "$image"
}

case ${1:-} in
  --relock)
    [ -n "${2:-}" ] || { echo "usage: $0 --relock <litellm version> [NAME==VERSION...]" >&2; exit 2; }
    shift
    relock "$@"
    ;;
  "") build ;;
  *)
    echo "usage: $0 [--relock <litellm version> [NAME==VERSION...]]" >&2
    exit 2
    ;;
esac
