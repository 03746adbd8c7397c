# Drop-in for images/build.sh (sourced by it): `bash images/build.sh prometheus3` builds
# inferstack-test/prometheus:3.13 through images/prometheus3/build.sh: Prometheus compiled from
# its Go module (no base image, no registry), skipped when its inferstack.source-hash is current.
# The compile needs no Docker and takes ~10 min cold, so prepare_prometheus3 starts it in the
# background when build.sh starts; build_prometheus3 then waits for it (a lock in the Go cache).
_prometheus3_force=0
if [[ " $* " == *" --force "* ]]; then _prometheus3_force=1; fi

prepare_prometheus3() {
  FORCE=$_prometheus3_force bash "$IMAGES_DIR/prometheus3/build.sh" prepare
}

build_prometheus3() {
  local tag
  tag=$(FORCE=$_prometheus3_force bash "$IMAGES_DIR/prometheus3/build.sh") || die "images/prometheus3/build.sh failed"
  log "current  $tag"
}

register_image prometheus3
