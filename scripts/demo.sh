#!/usr/bin/env bash
# Set up and run the demo: two vLLM stand-ins behind a real LiteLLM gateway, no GPU needed.
# Starts a Docker daemon if none answers (as root on Debian), installs and builds the project,
# builds the local images, starts a stand-in for the Hugging Face Hub, runs `serve pull` (the
# weights, with progress) and `serve up`, and sends a chat completion through the gateway.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

bash scripts/ensure-docker.sh
command -v pnpm >/dev/null 2>&1 || npm install -g pnpm@10.34.9 >/dev/null
pnpm install --frozen-lockfile >/dev/null
pnpm build >/dev/null
bash scripts/ensure-host-tools.sh
bash images/build.sh vllm-standin litellm prometheus hf-hub-standin hf-puller

cd examples/demo
if [ ! -f .env ]; then
  # Strong keys, readable by you only.
  umask 077
  {
    echo "GATEWAY_PORT=${GATEWAY_PORT:-4000}"
    echo "LITELLM_MASTER_KEY=sk-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    echo "LITELLM_SALT_KEY=sk-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    echo "HUGGINGFACE_CACHE=$PWD/.hf-cache"
  } > .env
  echo "demo: wrote examples/demo/.env with new keys (mode 0600)"
fi
if ! grep -q '^VLLM_IMAGE=' .env; then
  {
    echo "# The Hugging Face client (huggingface_hub 2.4.0) that pulls the weights: the stand-in vLLM image has none."
    echo "VLLM_IMAGE=inferstack-test/hf-puller:2.4.0"
  } >> .env
fi

# The Hub stand-in, on the stack's network as hf-hub (the models' HF_ENDPOINT), serving the
# generated repos of hub.json; recreated when hub.json changes.
net=inference_default
hub=inferstack-demo-hub
docker network inspect "$net" >/dev/null 2>&1 || docker network create --label inferstack.stack=demo "$net" >/dev/null
want=$(sha256sum hub.json | cut -c1-16)
have=$(docker inspect -f '{{index .Config.Labels "inferstack.demo-hub"}}' "$hub" 2>/dev/null || true)
if [ "$have" != "$want" ]; then
  docker rm -f "$hub" >/dev/null 2>&1 || true
  docker run -d --name "$hub" --restart unless-stopped --label "inferstack.demo-hub=$want" \
    --network "$net" --network-alias hf-hub --network-alias hf-hub-cdn \
    -v "$PWD/hub.json:/etc/hub.json:ro" -e HUB_STANDIN_REPOS_FILE=/etc/hub.json \
    -e HUB_STANDIN_CDN_ORIGIN=http://hf-hub-cdn:8081 inferstack-test/hf-hub-standin >/dev/null
fi
docker start "$hub" >/dev/null
for _ in $(seq 120); do
  docker exec "$hub" node -e "fetch('http://127.0.0.1:8080/_standin/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))" 2>/dev/null && break
  sleep 0.5
done

serve() { node "$root/packages/cli/dist/serve.cjs" "$@"; }
serve pull
serve up
serve status --weights

port=$(sed -n 's/^GATEWAY_PORT=//p' .env)
url="http://127.0.0.1:${port:-4000}"
echo
echo "The gateway is at $url. Try (the master key is in examples/demo/.env):"
echo
echo "  curl -s $url/v1/chat/completions \\"
echo "    -H \"Authorization: Bearer \$(sed -n 's/^LITELLM_MASTER_KEY=//p' examples/demo/.env)\" \\"
echo "    -H 'Content-Type: application/json' \\"
echo "    -d '{\"model\": \"demo/chat-small\", \"messages\": [{\"role\": \"user\", \"content\": \"Hello!\"}]}'"
echo
key=$(sed -n 's/^LITELLM_MASTER_KEY=//p' .env)
echo "Answer:"
curl -sS --max-time 30 "$url/v1/chat/completions" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
  -d '{"model": "demo/chat-small", "messages": [{"role": "user", "content": "Hello!"}]}'
echo
echo
echo "Prometheus: http://127.0.0.1:9091 (try the query vllm:num_requests_running)"
echo "Pull again (nothing left to fetch): (cd examples/demo && node ../../packages/cli/dist/serve.cjs pull)"
echo "A gated repo: add '  - demo-gated: {model: demo/gated-small, gpus: none}' to examples/demo/model_config/models.yaml,"
echo "  then pull it without a token (refused, with advice), and with HF_TOKEN=hf_demo_granted_token in examples/demo/.env."
echo "Stop the models: (cd examples/demo && node ../../packages/cli/dist/serve.cjs down)"
echo "Remove everything: docker rm -f $hub; (cd examples/demo && node ../../packages/cli/dist/serve.cjs down --all)"
echo "  (the weights stay in examples/demo/.hf-cache: the Hugging Face cache is yours, down never removes it)"
