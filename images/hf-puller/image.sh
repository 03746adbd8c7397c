# Drop-in for images/build.sh (sourced by it): `bash images/build.sh hf-puller` builds
# inferstack-test/hf-puller:<version> for every images/hf-puller/locks/<version>.lock through
# images/hf-puller/build.sh, which skips what is current. No dependency on other images: it is
# built FROM inferstack-test/debian-python:bookworm, which that script makes when missing.
_hf_puller_force=0
if [[ " $* " == *" --force "* ]]; then _hf_puller_force=1; fi

build_hf_puller() {
  local tags
  tags=$(FORCE=$_hf_puller_force bash "$IMAGES_DIR/hf-puller/build.sh") || die "images/hf-puller/build.sh failed"
  log "current  $(echo $tags)"
}

register_image hf-puller
