/**
 * Defaults used when `models.yaml` and `.env` are silent. Images are pinned to tags so that a
 * deployment does not change under the user's feet; override them in the file or `.env`. Each
 * pinned version, why it was chosen and what was checked in it: the README's "Default images"
 * table and `docs/upstream/`.
 */

/** Where `loadConfig` looks for the models file, relative to the working directory. */
export const DEFAULT_MODELS_FILE = 'model_config/models.yaml';

/** Repository used when `VLLM_IMAGE` (or an `image:`) is a bare tag such as `v0.32.0-cu129`. */
export const VLLM_IMAGE_REPOSITORY = 'vllm/vllm-openai';

/**
 * vLLM image when neither the file nor `VLLM_IMAGE` names one: 0.32.0, the newest release with a
 * CUDA 12.9 build (`-cu129`, as the reference tool ran); 0.33 and later publish CUDA 13.0 images
 * only, which need an R580 driver. Its sleep-mode routes, the metric names we read and the startup
 * errors we diagnose were checked in its source (docs/upstream/vllm.md). Its entrypoint is
 * `vllm serve`, which the argv style detection reads from the image, so the model is passed
 * positionally.
 */
export const DEFAULT_VLLM_IMAGE = `${VLLM_IMAGE_REPOSITORY}:v0.32.0-cu129`;

/**
 * LiteLLM gateway image: 1.108.14, the newest patch of the 1.108 long-term-support line and the
 * release our tests run against (the real proxy, built from the same PyPI release). It is past
 * CVE-2026-49468 (fixed in 1.84.0) and the SQL injection range of CVE-2026-42208 (1.81.16–1.83.6),
 * and is none of the compromised releases (1.82.7, 1.82.8, 1.107.0). Since ≈1.100 the proxy
 * refuses to start without a master key.
 */
export const DEFAULT_LITELLM_IMAGE = 'ghcr.io/berriai/litellm:v1.108.14';

/**
 * Prometheus image: 3.13.5, the newest patch of 3.13, the long-term-support line (supported until
 * July 2027; 3.5's support ended in July 2026), and the version the tests run (built from
 * Prometheus' Go module into a local image).
 */
export const DEFAULT_PROMETHEUS_IMAGE = 'prom/prometheus:v3.13.5';

/**
 * node-exporter image (host CPU, memory, disk for the system dashboard); `NODE_EXPORTER_IMAGE`.
 * 1.12.1, the newest release: the flags we pass and the metrics the dashboard reads are unchanged.
 */
export const DEFAULT_NODE_EXPORTER_IMAGE = 'quay.io/prometheus/node-exporter:v1.12.1';

/**
 * NVIDIA DCGM exporter image (GPU metrics), run where the host has NVIDIA GPUs;
 * `DCGM_EXPORTER_IMAGE`. 4.5.3-4.8.2, the newest tag we could read: its settings, the remote
 * host-engine mode and the `Hostname` label the system dashboard groups by were checked there
 * (docs/upstream/dcgm-exporter.md).
 */
export const DEFAULT_DCGM_EXPORTER_IMAGE = 'nvcr.io/nvidia/k8s/dcgm-exporter:4.5.3-4.8.2-ubuntu22.04';

/** Devices the DCGM exporter reports (`DCGM_EXPORTER_DEVICES_STR`): `f`, every GPU, or its MIG instances. */
export const DEFAULT_DCGM_DEVICES = 'f';

/** The DCGM exporter's collection interval in milliseconds (`DCGM_EXPORTER_INTERVAL`), the exporter's own default. */
export const DEFAULT_DCGM_INTERVAL_MS = 30000;

/**
 * Grafana image; `GRAFANA_IMAGE`. 13.2.3, the newest release, and the one whose dashboard schema
 * (`@grafana/schema` 13.2.3) the shipped dashboards are type-checked against.
 */
export const DEFAULT_GRAFANA_IMAGE = 'grafana/grafana:13.2.3';

/**
 * Postgres of a managed gateway in API mode; `POSTGRES_IMAGE` (or `LITELLM_DB_IMAGE`). The floating
 * `16-alpine`, as in the reference tool, on purpose: the data directory ties the database to
 * major version 16 (Postgres refuses another major's data), while minor releases are drop-in and
 * carry the security fixes a pinned minor would miss. It is pulled once when missing and then kept,
 * so a machine does not change it by itself; pin a digest in `POSTGRES_IMAGE` to fix it everywhere.
 */
export const DEFAULT_DATABASE_IMAGE = 'postgres:16-alpine';

/** Docker network shared by every container (the reference tool's compose project network). */
export const DEFAULT_NETWORK = 'inference_default';

/** Host port of the managed LiteLLM gateway (`GATEWAY_PORT`). */
export const DEFAULT_GATEWAY_PORT = 8000;

/** Host address the managed gateway is published on. */
export const DEFAULT_GATEWAY_BIND = '127.0.0.1';

/** Name of the managed LiteLLM container. */
export const GATEWAY_CONTAINER_NAME = 'litellm';

/** LiteLLM config file of a managed gateway, relative to the project directory. */
export const DEFAULT_LITELLM_CONFIG_FILE = 'litellm/config.yaml';

/** Host port of the managed Prometheus (`PROMETHEUS_PORT`). */
export const DEFAULT_PROMETHEUS_PORT = 9090;

/** Host port of the managed Grafana (`GRAFANA_PORT`). */
export const DEFAULT_GRAFANA_PORT = 3000;

/** Directory for Prometheus file_sd target files, relative to the project directory. */
export const DEFAULT_TARGETS_DIR = 'prometheus/targets';

/** Host directory of the Hugging Face cache (`HUGGINGFACE_CACHE`). */
export const DEFAULT_HUGGINGFACE_CACHE = '~/.cache/huggingface';

/** Where the Hugging Face cache is mounted in model containers (the vLLM image runs as root). */
export const HF_CACHE_CONTAINER_PATH = '/root/.cache/huggingface';

/** The port vLLM listens on inside every model container (`--port 8000`). */
export const VLLM_CONTAINER_PORT = 8000;

/** vLLM's `--gpu-memory-utilization` when not given, used for the per-GPU sum check. */
export const DEFAULT_GPU_MEMORY_UTILIZATION = 0.9;

/**
 * Key for the keyed digest of secrets in spec hashes when neither the `hashKey` option nor
 * `INFERSTACK_HASH_KEY` gives one. Public, so it only hides secrets from casual reading: pass a
 * per-machine key to make the digests unguessable.
 */
export const FALLBACK_HASH_KEY = 'inferstack/spec-hash/v1';

/**
 * The image the watcher runs in: any Node.js 20+ image (serve's own files are mounted into it).
 * Slim Debian, for a glibc the bundle's optional parts are built against.
 */
export const DEFAULT_WATCHER_IMAGE = 'node:20-bookworm-slim';

/** The port the watcher answers on, on the stack's network (wake requests, state, metrics). */
export const WATCHER_PORT = 8787;

/** How long a request waits for a sleeping or idle-stopped model to wake (`wake-timeout`). */
export const DEFAULT_WAKE_TIMEOUT_MS = 600_000;

/**
 * How long the load of an autoscaled model must stay low before a replica is taken away
 * (`replicas.down-after`): long enough that a lull between bursts does not throw away a replica
 * that took minutes to load.
 */
export const DEFAULT_REPLICA_DOWN_AFTER_MS = 300_000;

/** The word of `host:` that lets serve place a `gpus: auto` model on any host (so no host is named so). */
export const ANY_HOST = 'any';

/**
 * The name of the default Docker host: the daemon `DOCKER_HOST` names (else the local socket).
 * The gateway and Prometheus run there; a model without `host:` too.
 */
export const LOCAL_HOST = 'local';
