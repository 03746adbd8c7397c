# Drop-in for images/build.sh (sourced by it): `bash images/build.sh hf-hub-standin` builds
# inferstack-test/hf-hub-standin FROM inferstack-test/node:20 (a few seconds: two files copied).
HF_HUB_STANDIN_IMAGE=inferstack-test/hf-hub-standin

build_hf_hub_standin() {
  local dir=$IMAGES_DIR/hf-hub-standin hash start
  hash=$(source_hash "$dir" "base=$(image_id "$NODE_IMAGE")")
  if image_current "$HF_HUB_STANDIN_IMAGE" "$hash"; then
    log "current  $HF_HUB_STANDIN_IMAGE"
    return 0
  fi
  start=$(date +%s.%N)
  supersede "$HF_HUB_STANDIN_IMAGE"
  docker_build "$HF_HUB_STANDIN_IMAGE" --build-arg "BASE=$NODE_IMAGE" --label "$HASH_LABEL=$hash" "$dir"
  docker run --rm --network none --entrypoint node "$HF_HUB_STANDIN_IMAGE" \
    -e 'import("/opt/hf-hub-standin/lib.mjs").then(() => process.exit(0), (e) => { console.error(e); process.exit(1); })' \
    || die "$HF_HUB_STANDIN_IMAGE was built but its modules do not load"
  image_done "$HF_HUB_STANDIN_IMAGE" "$start"
}

register_image hf-hub-standin node
