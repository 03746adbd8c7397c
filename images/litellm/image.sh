# Drop-in for images/build.sh (sourced by it): `bash images/build.sh litellm` builds
# inferstack-test/litellm:<version> through images/litellm/build.sh, which skips the build when
# the image's inferstack.source-hash label is current. No dependency on other images: it is built
# FROM inferstack-test/debian-python:bookworm, which build.sh makes itself when missing.
_litellm_force=0
if [[ " $* " == *" --force "* ]]; then _litellm_force=1; fi

build_litellm() {
  local tag
  tag=$(FORCE=$_litellm_force bash "$IMAGES_DIR/litellm/build.sh") || die "images/litellm/build.sh failed"
  log "current  $tag"
}

register_image litellm
