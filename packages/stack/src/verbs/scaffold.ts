import { randomBytes } from 'node:crypto';
import {
  DEFAULT_DATABASE_IMAGE,
  DEFAULT_DCGM_DEVICES,
  DEFAULT_DCGM_EXPORTER_IMAGE,
  DEFAULT_DCGM_INTERVAL_MS,
  DEFAULT_GATEWAY_BIND,
  DEFAULT_GATEWAY_PORT,
  DEFAULT_GRAFANA_IMAGE,
  DEFAULT_GRAFANA_PORT,
  DEFAULT_HUGGINGFACE_CACHE,
  DEFAULT_LITELLM_CONFIG_FILE,
  DEFAULT_LITELLM_IMAGE,
  DEFAULT_NETWORK,
  DEFAULT_NODE_EXPORTER_IMAGE,
  DEFAULT_PROMETHEUS_IMAGE,
  DEFAULT_PROMETHEUS_PORT,
  DEFAULT_TARGETS_DIR,
  DEFAULT_VLLM_IMAGE,
  GATEWAY_CONTAINER_NAME,
} from '@inferstack/config';

/*
 * What `serve init` writes. Pure: `initProject` decides where and whether. A unit test parses
 * the template with every commented line switched on and checks that it gives the same settings
 * as without them.
 */

/** The keys `serve init` generates into `.env`. */
export interface GeneratedKeys {
  masterKey: string;
  saltKey: string;
  grafanaPassword: string;
  databasePassword: string;
}

/**
 * Fresh random keys: `sk-` + 48 hex digits (192 bits) for LiteLLM, 32 hex digits for Grafana.
 * All are long enough for `serve doctor`'s weak-key check.
 */
export function generateKeys(random: (size: number) => Buffer = randomBytes): GeneratedKeys {
  return {
    masterKey: `sk-${random(24).toString('hex')}`,
    saltKey: `sk-${random(24).toString('hex')}`,
    grafanaPassword: random(16).toString('hex'),
    databasePassword: random(24).toString('hex'),
  };
}

/**
 * Lines starting `#~ ` are options shown commented out; {@link renderModelsYaml} turns the marker
 * into `# `, or removes it so a test can check that every shown option is valid and every shown
 * default really is the default.
 */
const MODELS_TEMPLATE = `# inferstack: the models to serve, and the stack around them.
#
#   serve plan      what "serve up" would do (validates this file and .env)
#   serve doctor    checks Docker, the NVIDIA runtime, GPUs, disk, model sizes, ports and keys
#   serve up        starts everything; "serve status" shows it
#
# Secrets (HF_TOKEN, LITELLM_MASTER_KEY, ...) live in ../.env, never here.

models:
  # One item per model: "- <key>:", the key becomes the container name inference-<key>.
  - qwen2.5-1.5b-instruct:
      model: Qwen/Qwen2.5-1.5B-Instruct   # Hugging Face repo id (or a path inside the container)
      gpus: [0]                           # GPU indices; "all" (the default) or "none"
      gpu-memory-utilization: 0.90        # share of each GPU's memory; models sharing a GPU sum to at most 1
      max-model-len: 8192                 # any other key is a vLLM flag: --max-model-len 8192
      #~ tensor-parallel-size: 1          # split the model over this many GPUs; must equal the number in gpus
      #~ cpuset-cpus: "0-7"               # CPUs the container may use (docker --cpuset-cpus)
      #~ shm-size: 8g                     # /dev/shm size; tensor parallel needs more than Docker's 64m
      #~ served-model-name: qwen-small    # the name clients ask the gateway for (default: the model)
      #~ api-key: "\${QWEN_API_KEY}"       # key vLLM requires on /v1; taken from .env, never put on the command line
      #~ enable-prefix-caching: true      # true gives a valueless flag, false leaves it out
      #~ additional_flags: [--trust-remote-code]   # passed as they are; each flag once, no secrets (--api-key, --hf-token)
      #~ image: ${DEFAULT_VLLM_IMAGE}     # per model; a bare tag such as v0.32.0-cu129 means vllm/vllm-openai:<tag>
      #~ pull: missing                    # missing | always | never
      #~ env: {VLLM_LOGGING_LEVEL: INFO}  # names ending in _KEY, _TOKEN, _SECRET or with PASSWORD are secrets
      #~ volumes: ["./models:/models:ro"] # extra mounts; the Hugging Face cache (HUGGINGFACE_CACHE) is always mounted
      #~ host: gpu2                       # the Docker host it runs on (see hosts: below); default: this one

# For every model (a model's own image and pull win; env and volumes add up):
#~ defaults:
#~   image: ${DEFAULT_VLLM_IMAGE}        # else VLLM_IMAGE from .env, else this
#~   pull: missing
#~   env: {}
#~   volumes: []

# The LiteLLM gateway: one OpenAI-compatible endpoint for all models. Defaults shown.
#~ gateway:
#~   mode: managed                    # managed (serve runs it) | external (give url:) | none
#~   sync: config                     # config: model list in the config file, gateway restarted on change (no database)
#~   port: ${DEFAULT_GATEWAY_PORT}                       # host port (GATEWAY_PORT in .env also sets it)
#~   bind: ${DEFAULT_GATEWAY_BIND}                  # this machine only; 0.0.0.0 opens it to the network (use strong keys)
#~   image: ${DEFAULT_LITELLM_IMAGE}      # LITELLM_IMAGE in .env also sets it
#   ui-username: admin               # admin UI (/ui) login, else LITELLM_USERNAME; password: LITELLM_PASSWORD in .env
#~   database: {image: ${DEFAULT_DATABASE_IMAGE}}   # Postgres for sync: api (POSTGRES_IMAGE); password: POSTGRES_PASSWORD in .env
#~   config-file: ${DEFAULT_LITELLM_CONFIG_FILE}     # relative to the project directory
#~   container-name: ${GATEWAY_CONTAINER_NAME}

# Prometheus, the exporters and Grafana (published on 127.0.0.1 only). Defaults shown.
#~ monitoring:
#~   mode: managed                    # managed | external (give prometheus.url) | none
#~   prometheus:
#~     port: ${DEFAULT_PROMETHEUS_PORT}                     # PROMETHEUS_PORT in .env also sets it
#~     image: ${DEFAULT_PROMETHEUS_IMAGE}
#~     container-name: prometheus
#~     targets-dir: ${DEFAULT_TARGETS_DIR}    # where serve writes the model targets
#~   grafana:
#~     enabled: true
#~     port: ${DEFAULT_GRAFANA_PORT}                     # GRAFANA_PORT in .env also sets it
#~     image: ${DEFAULT_GRAFANA_IMAGE}
#     admin-user: admin              # else GRAFANA_ADMIN_USER; password: GRAFANA_ADMIN_PASSWORD in .env
#~     container-name: grafana
#~   node-exporter:
#~     enabled: true
#~     image: ${DEFAULT_NODE_EXPORTER_IMAGE}
#~     container-name: node-exporter
#~   dcgm-exporter:                   # GPU metrics; by default only where the Docker host has NVIDIA GPUs (or set enabled:)
#~     image: ${DEFAULT_DCGM_EXPORTER_IMAGE}
#~     container-name: dcgm-exporter
#~     devices: ${DEFAULT_DCGM_DEVICES}                     # f: every GPU (or its MIG instances); g:0,1 some GPUs
#~     interval: ${DEFAULT_DCGM_INTERVAL_MS}                # collection interval, milliseconds
#     remote-hostengine: host.docker.internal:5555   # use the host's nv-hostengine (listening beyond 127.0.0.1)
#~   scrape-configs: []               # extra Prometheus scrape_configs, kept as they are

# The Docker network every container joins.
#~ network: ${DEFAULT_NETWORK}

# More GPU boxes, no cluster: each Docker daemon by name; a model picks one with host:.
# The gateway and Prometheus stay on this one (DOCKER_HOST, else the local socket).
#~ hosts:
#~   gpu2:
#~     endpoint: ssh://deploy@gpu2.lan     # or tcp://gpu2.lan:2376 with tls: {ca, cert, key}
#~     address: 10.0.0.12               # where the gateway reaches gpu2's models (default: the endpoint's host)
#~     allow-open-models: false         # true: its models may go without an api-key (open to whoever reaches the address)
`;

/**
 * The commented `model_config/models.yaml`: one model, every common option and the default of
 * every section shown commented out. `uncommented` switches them all on (for tests).
 */
export function renderModelsYaml(options: { uncommented?: boolean } = {}): string {
  return MODELS_TEMPLATE.split('\n')
    .map((line) => alignComment(line.replace('#~ ', options.uncommented ? '' : '# ')))
    .join('\n');
}

/** Line up a trailing `# comment` after a value, so the file reads as a table. */
function alignComment(line: string): string {
  const m = /^( *(?:# +)?)([^#\s].*?)\s+(# .*)$/.exec(line);
  if (!m) return line;
  const [, lead = '', content = '', comment = ''] = m;
  const code = lead + content;
  return `${code.padEnd(Math.max(COMMENT_COLUMN, code.length + 2))}${comment}`;
}

const COMMENT_COLUMN = 42;

/**
 * The `.env` file: generated keys, the settings a user changes first, each with why. The names
 * are the reference tool's, so its users recognise them (docker compose reads the file too).
 */
export function renderEnvFile(keys: GeneratedKeys, options: { gatewayPort?: number } = {}): string {
  return `# inferstack settings for this project. serve reads this file, and so does docker compose.
# It holds keys: keep it private (mode 600) and out of version control.

# Hugging Face token, needed for gated models (Llama, Gemma, Mistral...): https://huggingface.co/settings/tokens
HF_TOKEN=
# Host directory of the Hugging Face cache, mounted into every model container.
HUGGINGFACE_CACHE=${DEFAULT_HUGGINGFACE_CACHE}
# Host port of the LiteLLM gateway: http://127.0.0.1:<port>/v1
GATEWAY_PORT=${options.gatewayPort ?? DEFAULT_GATEWAY_PORT}

# Key clients send to the gateway (Authorization: Bearer ...); it is also the gateway's admin key.
LITELLM_MASTER_KEY=${keys.masterKey}
# Encrypts the credentials LiteLLM keeps in a database (gateway sync: api); do not change it once used.
LITELLM_SALT_KEY=${keys.saltKey}
# Password of Grafana's admin user (GRAFANA_ADMIN_USER, default admin).
GRAFANA_ADMIN_PASSWORD=${keys.grafanaPassword}
# Password of the gateway's Postgres, which serve runs when the gateway syncs through its API (gateway.sync: api).
POSTGRES_PASSWORD=${keys.databasePassword}

# Optional, with their defaults. Logins: the gateway's admin UI (password unset: the master key) and Grafana.
# LITELLM_USERNAME=admin
# LITELLM_PASSWORD=
# GRAFANA_ADMIN_USER=admin
# Images (models.yaml wins): LITELLM_IMAGE, POSTGRES_IMAGE, PROMETHEUS_IMAGE, NODE_EXPORTER_IMAGE, DCGM_EXPORTER_IMAGE, GRAFANA_IMAGE.
# VLLM_IMAGE=${DEFAULT_VLLM_IMAGE}
# The DCGM exporter: the host's nv-hostengine instead of its own engine; devices; interval in ms.
# DCGM_REMOTE_HOSTENGINE_INFO=host.docker.internal:5555
# DCGM_EXPORTER_DEVICES_STR=${DEFAULT_DCGM_DEVICES}
# DCGM_EXPORTER_INTERVAL=${DEFAULT_DCGM_INTERVAL_MS}
`;
}
