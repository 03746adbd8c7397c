# Drop-in for images/build.sh (sourced by it): `bash images/build.sh prometheus` builds
# inferstack-test/prometheus:2.42 and inferstack-test/node-exporter:1.5 (+ :latest) through
# images/prometheus/build.sh, which skips an image whose inferstack.source-hash label is current.
# Both come from the host's Debian packages (prometheus, prometheus-node-exporter): no base image.
_prometheus_force=0
if [[ " $* " == *" --force "* ]]; then _prometheus_force=1; fi

build_prometheus() {
  local tags
  tags=$(FORCE=$_prometheus_force bash "$IMAGES_DIR/prometheus/build.sh" prometheus node-exporter) \
    || die "images/prometheus/build.sh failed"
  log "current  $(echo "$tags" | paste -sd ' ')"
}

register_image prometheus
