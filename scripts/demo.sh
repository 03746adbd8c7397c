#!/usr/bin/env bash
# Set up and run the demo: two vLLM stand-ins behind a real LiteLLM gateway, no GPU needed.
# Starts a Docker daemon if none answers (as root on Debian), installs and builds the project,
# builds the local images, runs `serve up`, and sends a chat completion through the gateway.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

bash scripts/ensure-docker.sh
command -v pnpm >/dev/null 2>&1 || npm install -g pnpm@10.34.9 >/dev/null
pnpm install --frozen-lockfile >/dev/null
pnpm build >/dev/null
bash scripts/ensure-host-tools.sh
bash images/build.sh vllm-standin litellm prometheus

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
serve() { node "$root/packages/cli/dist/cli.js" "$@"; }
serve up
serve status

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
echo "Stop the models: (cd examples/demo && node ../../packages/cli/dist/cli.js down)"
echo "Remove everything: (cd examples/demo && node ../../packages/cli/dist/cli.js down --all)"
