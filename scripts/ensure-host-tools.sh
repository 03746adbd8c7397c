#!/usr/bin/env bash
# Host packages the local test images are built from (no registry: see images/): Debian's
# prometheus and prometheus-node-exporter binaries, and debootstrap for the LiteLLM base image.
# Installs what is missing when run as root on Debian; safe to run again.
# Also checks for Go >= 1.26, which compiles the Prometheus 3 image (images/prometheus3): Debian
# 12's golang is too old, so it is not installed here but expected on the machine.
#
#   bash scripts/ensure-host-tools.sh           install what is missing (as root on Debian)
#   bash scripts/ensure-host-tools.sh --check   install nothing; exit 1 naming what is missing
set -euo pipefail

check_only=0
[ "${1:-}" = "--check" ] && check_only=1

GO_MIN=1.26
command -v go >/dev/null 2>&1 || [ ! -x /usr/local/go/bin/go ] || PATH=$PATH:/usr/local/go/bin
go_version=$(go env GOVERSION 2>/dev/null || true)
go_minor=$(echo "${go_version#go}" | cut -d. -f1,2)
if [ -z "$go_version" ] || [ "$(printf '%s\n%s\n' "$GO_MIN" "$go_minor" | sort -V | head -n1)" != "$GO_MIN" ]; then
  echo "ensure-host-tools: Go >= $GO_MIN is needed to compile the Prometheus 3 test image and the Kubernetes test binaries (found: ${go_version:-none}); install it from https://go.dev/dl (Debian 12's golang is too old)" >&2
  exit 1
fi

need=()
command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
command -v prometheus-node-exporter >/dev/null 2>&1 || command -v node_exporter >/dev/null 2>&1 || need+=(prometheus-node-exporter)
# /usr/sbin is not on the PATH of users other than root on Debian.
command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] || need+=(debootstrap)
command -v ldd >/dev/null 2>&1 || need+=(libc-bin)
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$check_only" = 1 ] || [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-host-tools: missing ${need[*]}; install them (Debian/Ubuntu, as root: apt-get install ${need[*]})" >&2
  exit 1
fi
echo "ensure-host-tools: installing ${need[*]} from Debian's archive..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# The packages' services are not wanted on the host: only their binaries go into images.
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
