import * as v from 'valibot';
import { toJsonSchema } from '@valibot/to-json-schema';
import { BYTE_SIZE_PATTERN } from './_byte-size.js';
import { MAX_HOST_NAME_LENGTH, MAX_MODEL_CONTAINER_NAME_LENGTH, MAX_STACK_NAME_LENGTH, MODEL_CONTAINER_PREFIX } from './container-name.js';
import { DURATION_EXAMPLES, DURATION_MESSAGES, DURATION_PATTERN, MAX_DURATION_MS, MAX_DURATION_TEXT, durationProblem } from './_duration.js';
import {
  DEFAULT_WATCHER_IMAGE,
  DEFAULT_GATEWAY_BIND,
  DEFAULT_GATEWAY_PORT,
  DEFAULT_GRAFANA_IMAGE,
  DEFAULT_NODE_EXPORTER_IMAGE,
  DEFAULT_DCGM_EXPORTER_IMAGE,
  DEFAULT_DCGM_DEVICES,
  DEFAULT_DCGM_INTERVAL_MS,
  DEFAULT_DATABASE_IMAGE,
  DEFAULT_GRAFANA_PORT,
  DEFAULT_LITELLM_CONFIG_FILE,
  DEFAULT_LITELLM_IMAGE,
  DEFAULT_NETWORK,
  DEFAULT_PROMETHEUS_IMAGE,
  DEFAULT_PROMETHEUS_PORT,
  DEFAULT_TARGETS_DIR,
  DEFAULT_VLLM_IMAGE,
  ANY_HOST,
  LOCAL_HOST,
} from './defaults.js';

/*
 * The shape of models.yaml as valibot schemas. They check types and formats field by field;
 * rules that span fields or models (duplicates, GPU sums, tensor parallel) live in
 * parse-config.ts. The JSON Schema shipped as models.schema.json is generated from these.
 *
 * Long (~700 lines) on purpose: it is one tree, the whole file's shape, and most of its lines are
 * the titles and descriptions editors show from models.schema.json. Split by section, the shared
 * field builders (Port, Duration, Image, ...) would have to travel with every part.
 */

/** Docker image reference: `[registry/]name[:tag][@digest]`, or a bare tag of vllm/vllm-openai. */
export const IMAGE_PATTERN =
  '^(?:(?:[a-zA-Z0-9-]+(?:\\.[a-zA-Z0-9-]+)*(?::[0-9]+)?/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?|[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})$';

/** Model keys (see `modelKeyProblem`, which gives the reason a key is refused). */
export const MODEL_KEY_PATTERN = `^(?![./-])(?!.*(?:--|\\.\\.|//|-/|/-))(?!.*/$)[A-Za-z0-9._/-]{1,${MAX_MODEL_CONTAINER_NAME_LENGTH - MODEL_CONTAINER_PREFIX.length}}$`;

/** `source:target[:ro|rw]` with an absolute target. */
export const VOLUME_PATTERN = '^[^:]+:/[^:]*(?::(?:ro|rw))?$';

/** {@link CPUSET_PATTERN} with spaces allowed around commas. */
const CPUSET_PATTERN_LOOSE = '^\\s*[0-9]+(?:-[0-9]+)?(?:\\s*,\\s*[0-9]+(?:-[0-9]+)?)*\\s*$';

const CPUSET_MESSAGE = 'must be a CPU list like "0-3" or "0,2", or a list of CPU indices';
const CPU_MESSAGE = 'must be a CPU index (0 or more)';
const SIZE_MESSAGE = 'must be a size like 8g, 512m or a number of bytes';
const IP_MESSAGE = 'must be an IP address like 127.0.0.1 or 0.0.0.0';

/** `host[:port]` of a DCGM host engine; IPv6 addresses in brackets. */
export const HOSTENGINE_PATTERN = '^(?:\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::[0-9]{1,5})?$';

/** The DCGM exporter's device selection: `f`, or `g` / `i` with an optional `:0,2-4` list. */
export const DCGM_DEVICES_PATTERN = '^(?:f|[gi](?::[0-9]+(?:-[0-9]+)?(?:,[0-9]+(?:-[0-9]+)?)*)?)$';

/** A host's `address:`: an IPv4/IPv6 address or a DNS name. */
export const HOST_ADDRESS_PATTERN = '^(?:[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)$';

/** Environment variable names. */
export const ENV_NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_]*$';

/** Docker network names. */
export const NETWORK_PATTERN = '^[a-zA-Z0-9][a-zA-Z0-9_.-]*$';

const Port = (title: string, description: string) =>
  v.pipe(
    v.number('must be a port number'),
    v.integer('must be a whole port number'),
    v.minValue(1, 'must be a port between 1 and 65535'),
    v.maxValue(65535, 'must be a port between 1 and 65535'),
    v.title(title), v.description(description),
  );

/**
 * A Docker container name for a managed service: a host name on the stack's network, which
 * Python's resolver (LiteLLM, its hooks) takes up to {@link MAX_HOST_NAME_LENGTH} characters
 * (less where a suffix is added: the gateway's database is `<gateway>-db`).
 */
const ContainerName = (description: string, max = MAX_HOST_NAME_LENGTH) =>
  v.pipe(
    v.string('must be a container name'),
    v.regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, 'must be a valid container name: letters, digits, _ . - (not first)'),
    v.maxLength(
      max,
      (issue) =>
        `is ${issue.received} characters long; at most ${max}: it is a host name on the stack's network${max < MAX_HOST_NAME_LENGTH ? ` (with the ${MAX_HOST_NAME_LENGTH - max} characters added to it)` : ''}`,
    ),
    v.title('Container name'),
    v.description(description),
  );

const Image = (title: string, description: string) =>
  v.pipe(
    v.string('must be an image reference (a string)'),
    v.regex(new RegExp(IMAGE_PATTERN), 'is not a valid image reference'),
    v.title(title), v.description(description),
  );

const GpuIndex = v.pipe(
  v.number('must be a GPU index'),
  v.integer('must be a whole GPU index'),
  v.minValue(0, 'must be a GPU index (0 or more)'),
);

const Pull = v.pipe(
  v.picklist(['missing', 'always', 'never'], 'must be missing, always or never'),
  v.title('Pull policy'), v.description('When to pull the image: `missing` (default: only when not present), `always`, or `never`.'),
);

const Replace = v.pipe(
  v.picklist(['rolling', 'in-place'], 'must be rolling or in-place'),
  v.title('Replacement'),
  v.description(
    'How a changed model is replaced: `rolling` (default): the new container starts beside the old one and takes over once ready, when both fit on the GPUs; `in-place`: the old one is unrouted, drained and stopped first (downtime), e.g. when the host cannot hold two copies.',
  ),
);

/**
 * A duration (see `_duration.ts`): the pattern gives its shape (and editors see it), the check
 * its range, both from the definitions the parser uses.
 */
const Duration = (title: string, description: string) =>
  v.pipe(
    v.union(
      [
        v.pipe(v.string(), v.regex(new RegExp(DURATION_PATTERN), DURATION_MESSAGES.form)),
        v.pipe(v.number(), v.gtValue(0, DURATION_MESSAGES.positive), v.maxValue(MAX_DURATION_MS / 1000, DURATION_MESSAGES.tooLong)),
      ],
      `must be a duration such as ${DURATION_EXAMPLES}`,
    ),
    v.check((value) => durationProblem(value) === undefined, (issue) => durationProblem(issue.input) ?? 'is not a duration'),
    v.title(title),
    v.description(`${description} At most ${MAX_DURATION_TEXT}.`),
  );

const Idle = v.pipe(
  v.union(
    [
      v.literal('none'),
      v.strictObject(
        {
          after: Duration('Idle after', 'How long without a request before the model is put away, e.g. 15m.'),
          then: v.optional(
            v.pipe(
              v.picklist(['sleep', 'deep-sleep', 'stop'], 'must be sleep, deep-sleep or stop'),
              v.description('`sleep` (default): vLLM sleep mode level 1 (weights to CPU RAM, fast wake); `deep-sleep`: level 2 (weights dropped, reloaded on wake); `stop`: the container stops (started again on the next request).'),
            ),
          ),
        },
        'must be a map with after (and then)',
      ),
    ],
    'must be none, or a map with after: <duration> and then: sleep | deep-sleep | stop',
  ),
  v.title('Idle policy'),
  v.description('What happens to a model nobody asks for: after `after` without requests it sleeps or stops, and the first request through the gateway wakes it (and waits for it). Unset or none: always on.'),
);

const SwapGroup = v.pipe(
  v.string('must be a group name'),
  v.regex(/^[a-z0-9][a-z0-9_-]*$/, 'must be lower-case letters, digits, _ and -'),
  v.title('Swap group'),
  v.description('Models of one swap group take turns on their GPUs: waking one puts the others of the group to sleep first.'),
);

const WakeTimeout = Duration('Wake timeout', 'How long a request waits for a sleeping or idle-stopped model to wake before it fails. Default: 10m.');

/** Host names (`hosts:` keys, a model's `host:`): short identifiers, like stack names. */
export const HOST_NAME_PATTERN = '^[a-z0-9][a-z0-9_-]{0,62}$';

const HostName = v.pipe(
  v.string('must be a host name'),
  v.regex(new RegExp(HOST_NAME_PATTERN), 'must be a host name: lower-case letters, digits, _ and -'),
);

const HostRef = v.pipe(
  v.union(
    [HostName, v.pipe(v.array(HostName, 'must be a list of host names'), v.minLength(1, 'must name at least one host'))],
    `must be a host name, ${ANY_HOST}, or a list of host names`,
  ),
  v.title('Host'),
  v.description(
    `The Docker host the model runs on: a name under hosts:, or ${JSON.stringify(LOCAL_HOST)} (the default), the daemon DOCKER_HOST names (else the local socket). With gpus: auto, also the hosts serve may place its replicas on: a list of names, or ${ANY_HOST} (the default host and every host with an address).`,
  ),
);

const Replicas = v.pipe(
  v.union(
    [
      v.pipe(v.number('must be a number of replicas'), v.integer('must be a whole number of replicas'), v.minValue(1, 'must be 1 or more')),
      v.strictObject(
        {
          min: v.optional(
            v.pipe(
              v.number('must be a number of replicas'),
              v.integer('must be a whole number of replicas'),
              v.minValue(0, 'must be 0 or more'),
              v.title('Minimum'),
              v.description('At least this many replicas run. 0: none while nobody asks (needs an idle policy; a request wakes the model). Default: 1.'),
            ),
          ),
          max: v.pipe(
            v.number('must be a number of replicas'),
            v.integer('must be a whole number of replicas'),
            v.minValue(1, 'must be 1 or more'),
            v.title('Maximum'),
            v.description('At most this many replicas run, when the load asks for them.'),
          ),
          'down-after': v.optional(Duration('Down after', 'How long the load must stay low before a replica is taken away. Default: 5m.')),
        },
        'must be a map with max (and min, down-after)',
      ),
    ],
    'must be a number of replicas, or a map such as {min: 1, max: 4}',
  ),
  v.title('Replicas'),
  v.description(
    'How many containers of the model run behind the gateway: a number (fixed), or {min, max, down-after} to scale between min and max on load. Default: 1. Changing it adds or removes replicas; the ones that run are not recreated.',
  ),
);

const Routing = v.pipe(
  v.picklist(['least-busy', 'prefix'], 'must be least-busy or prefix'),
  v.title('Routing'),
  v.description(
    "How the gateway spreads the model's requests over its replicas: `least-busy` (default): to the replica with the fewest requests in flight; `prefix`: requests that start alike to the same replica, whose KV cache already holds the prefix.",
  ),
);

const HostPath = (title: string, description: string) =>
  v.pipe(v.string('must be a path'), v.minLength(1, 'must not be empty'), v.title(title), v.description(description));

/** One entry of `hosts:`. */
export const HostSchema = v.pipe(
  v.strictObject(
    {
      endpoint: v.pipe(
        v.string('must be a Docker endpoint'),
        v.regex(/^(?:unix|tcp|ssh):\/\/\S+$/, 'must be unix:///path, tcp://host:port or ssh://user@host[:port]'),
        v.title('Endpoint'),
        v.description('How to reach the host\'s Docker daemon: unix:///path/to/docker.sock, tcp://host:2376 (with tls:), or ssh://user@host[:port] (the remote user runs `docker system dial-stdio`; needs the docker CLI there).'),
      ),
      address: v.optional(
        v.pipe(
          v.string('must be an address'),
          v.regex(new RegExp(HOST_ADDRESS_PATTERN), 'must be an IP address or a host name'),
          v.title('Address'),
          v.description('The address the gateway and Prometheus reach this host\'s published ports on; its models publish their port on this address only. Default: the host name of a tcp:// or ssh:// endpoint (required for unix:// and loopback endpoints).'),
        ),
      ),
      tls: v.optional(
        v.pipe(
          v.strictObject(
            {
              ca: HostPath('CA', 'The CA that signed the daemon\'s certificate (ca.pem), relative to the project directory.'),
              cert: HostPath('Certificate', 'Our client certificate (cert.pem), relative to the project directory.'),
              key: HostPath('Key', 'Its private key (key.pem), relative to the project directory. Never shown.'),
            },
            'must be a map with ca, cert and key',
          ),
          v.title('TLS'),
          v.description('Mutual TLS for a tcp:// endpoint whose daemon runs with --tlsverify (what DOCKER_CERT_PATH holds).'),
        ),
      ),
      ssh: v.optional(
        v.pipe(
          v.strictObject(
            {
              'private-key': v.optional(HostPath('Private key', 'Key file to log in with, relative to the project directory. Default: the ssh-agent (SSH_AUTH_SOCK), else ~/.ssh/id_ed25519, id_ecdsa, id_rsa.')),
              'known-hosts': v.optional(HostPath('known_hosts', 'The known_hosts file that must list the host\'s key. Default: ~/.ssh/known_hosts.')),
            },
            'must be a map with private-key or known-hosts',
          ),
          v.title('SSH'),
          v.description('Login for an ssh:// endpoint. ~/.ssh/config is not read.'),
        ),
      ),
      'allow-open-models': v.optional(
        v.pipe(
          v.boolean('must be true or false'),
          v.title('Allow open models'),
          v.description(
            'true: models of this host without an api-key are accepted although they are published on its address (not a loopback one), where anyone who reaches the address can use them. Default: false (such a model is refused: give it an api-key).',
          ),
        ),
      ),
    },
    'must be a map with endpoint and optional address, tls, ssh, allow-open-models',
  ),
  v.title('Host'),
  v.description('A Docker host models can run on, reached through its daemon\'s API: no agent to install.'),
);

/** The `hosts:` section. */
export const HostsSchema = v.pipe(
  v.record(
    v.pipe(v.string(), v.regex(new RegExp(HOST_NAME_PATTERN), 'is not a valid host name (lower-case letters, digits, _ and -)')),
    HostSchema,
    'must be a map of <name>: {endpoint: ...}',
  ),
  v.title('Hosts'),
  v.description(`Further Docker hosts, by name; a model picks one with host:. ${JSON.stringify(LOCAL_HOST)} is the default daemon (DOCKER_HOST, else the local socket), where the gateway and Prometheus run.`),
);

const EnvMap = v.pipe(
  v.record(
    v.pipe(v.string(), v.regex(new RegExp(ENV_NAME_PATTERN), 'is not a valid environment variable name')),
    v.union([v.string(), v.number(), v.boolean()], 'must be a string, number or boolean'),
    'must be a map of NAME: value',
  ),
  v.title('Environment'), v.description('Extra environment variables for the container. Names ending in _KEY, _TOKEN, _SECRET or containing PASSWORD are treated as secrets. VLLM_PORT may not be set.'),
);

const Volumes = v.pipe(
  v.array(
    v.pipe(v.string('must be a "source:/target[:ro]" string'), v.regex(new RegExp(VOLUME_PATTERN), 'must look like "source:/target" or "source:/target:ro"')),
    'must be a list of "source:/target[:ro]" strings',
  ),
  v.title('Volumes'), v.description('Extra mounts, "source:/target[:ro|rw]". A source that is a path (absolute, ./relative to the project directory, or ~/) is a bind mount; a plain name is a named volume.'),
);

/** Options of one model; any key not listed here is passed to vLLM as a flag. */
export const ModelOptionsSchema = v.pipe(
  v.objectWithRest(
    {
      model: v.pipe(
        v.string('must be a Hugging Face repo id or a path (a string)'),
        v.minLength(1, 'must not be empty'),
        v.title('Model'), v.description('Required. Hugging Face repo id (e.g. Qwen/Qwen3-VL-4B-Instruct) or a path inside the container, given to vLLM as the model.'),
      ),
      gpus: v.optional(
        v.pipe(
          v.union(
            [v.picklist(['all', 'none', 'auto']), v.literal(false), v.array(GpuIndex), GpuIndex],
            'must be a list of GPU indices like [0, 1], `all`, `auto`, or `none`',
          ),
          v.title('GPUs'), v.description('GPU indices for the container, e.g. [0, 1] (a single number is one index). Absent or `all`: every GPU. `auto`: as many GPUs as vLLM uses (tensor × pipeline × data parallel size), picked by serve where memory is free, per replica. `none`, [] or false: no GPU (CPU builds, the test stand-in).'),
        ),
      ),
      'cpuset-cpus': v.optional(
        v.pipe(
          v.union(
            [
              v.pipe(v.string(), v.regex(new RegExp(CPUSET_PATTERN_LOOSE), CPUSET_MESSAGE)),
              v.array(v.pipe(v.number(CPU_MESSAGE), v.integer(CPU_MESSAGE), v.minValue(0, CPU_MESSAGE)), CPUSET_MESSAGE),
              v.pipe(v.number(), v.integer(CPU_MESSAGE), v.minValue(0, CPU_MESSAGE)),
            ],
            'must be a CPU list like "0-3" or "0,2", or a list of CPU indices',
          ),
          v.title('CPU set'), v.description('CPUs the container may use (docker --cpuset-cpus): "0-3", "0,2,4" or a list [0, 1, 2].'),
        ),
      ),
      'shm-size': v.optional(
        v.pipe(
          v.union(
            [
              v.pipe(v.string(), v.regex(new RegExp(BYTE_SIZE_PATTERN), SIZE_MESSAGE)),
              v.pipe(v.number(), v.integer(SIZE_MESSAGE), v.minValue(1, SIZE_MESSAGE)),
            ],
            'must be a size like 8g, 512m or a number of bytes',
          ),
          v.title('Shared memory size'), v.description("Size of /dev/shm (docker --shm-size): a number of bytes or a size with unit b, k, m or g, e.g. 8g. Docker's default is 64m; tensor parallel may need more."),
        ),
      ),
      'tensor-parallel-size': v.optional(
        v.pipe(
          v.number('must be a whole number'),
          v.integer('must be a whole number'),
          v.minValue(1, 'must be 1 or more'),
          v.title('Tensor parallel size'), v.description('vLLM --tensor-parallel-size. Must equal the number of listed GPUs.'),
        ),
      ),
      'gpu-memory-utilization': v.optional(
        v.pipe(
          v.number('must be a number between 0 and 1'),
          v.gtValue(0, 'must be more than 0'),
          v.maxValue(1, 'must be at most 1: it is a fraction of the GPU memory'),
          v.title('GPU memory utilization'), v.description('vLLM --gpu-memory-utilization, the fraction of each GPU this model may use (vLLM default 0.9). Models sharing a GPU must sum to at most 1.'),
        ),
      ),
      additional_flags: v.optional(
        v.pipe(
          v.array(
            v.union([v.pipe(v.string(), v.minLength(1, 'must not be empty')), v.number()], 'must be a string like --trust-remote-code'),
            'must be a list of flags like [--trust-remote-code]',
          ),
          v.title('Additional flags'), v.description('Extra vLLM arguments given as they are, typically valueless flags: [--trust-remote-code, --enable-auto-tool-choice].'),
        ),
      ),
      'served-model-name': v.optional(
        v.pipe(
          v.union(
            [
              v.pipe(v.string(), v.minLength(1, 'must not be empty')),
              v.pipe(v.array(v.pipe(v.string('must be a name'), v.minLength(1, 'must not be empty')), 'must be a list of names'), v.minLength(1, 'must not be an empty list')),
            ],
            'must be a name or a list of names',
          ),
          v.title('Served model name'), v.description('vLLM --served-model-name: the name clients (and LiteLLM) use. Default: the model.'),
        ),
      ),
      'api-key': v.optional(
        v.pipe(
          v.union([v.pipe(v.string(), v.minLength(1, 'must not be empty')), v.number()], 'must be a string'),
          v.title('API key'), v.description('Key vLLM requires on /v1 routes. Passed as the VLLM_API_KEY environment variable, never on the command line. "${NAME}" takes it from .env or the environment.'),
        ),
      ),
      image: v.optional(Image('Image', `vLLM image for this model. Default: defaults.image, then VLLM_IMAGE from .env, then ${DEFAULT_VLLM_IMAGE}. A bare tag such as v0.32.0-cu129 means vllm/vllm-openai:<tag>.`)),
      env: v.optional(EnvMap),
      volumes: v.optional(Volumes),
      pull: v.optional(Pull),
      replace: v.optional(Replace),
      idle: v.optional(Idle),
      'swap-group': v.optional(SwapGroup),
      'wake-timeout': v.optional(WakeTimeout),
      host: v.optional(HostRef),
      replicas: v.optional(Replicas),
      routing: v.optional(Routing),
    },
    v.pipe(
      v.union(
        [v.string(), v.number(), v.boolean(), v.array(v.unknown()), v.record(v.string(), v.unknown())],
        'must have a value (a string, number, true/false, or a map/list given as JSON)',
      ),
      v.description('Any other key is a vLLM flag: key: value becomes --key value (underscores become hyphens); true gives a valueless flag, false leaves it out; maps and lists are passed as JSON.'),
    ),
    'must be a map of options with at least `model:`',
  ),
  v.title('Model options'), v.description('One model: a vLLM container named inference-<key>.'),
);

const ModelKey = v.pipe(
  v.string(),
  v.regex(new RegExp(MODEL_KEY_PATTERN), 'is not a valid model key'),
  v.description('Model key: letters, digits, -, _, ., /; no --, .., //; not starting with . / -. Becomes the container name inference-<key> (/ spelled --), at most 56 characters: a host name the gateway resolves.'),
);

/** The `models:` section: the reference tool's list of single-key maps, or a plain map. */
export const ModelsSchema = v.pipe(
  v.union(
    [
      v.pipe(
        v.array(
          v.pipe(
            v.record(ModelKey, ModelOptionsSchema),
            v.minEntries(1),
            v.maxEntries(1),
          ),
        ),
        v.description('List form (the reference tool\'s): - key: {options}'),
      ),
      v.pipe(v.record(ModelKey, ModelOptionsSchema), v.description('Map form: key: {options}')),
    ],
    'must be a list of `- key: {options}` items or a map of `key: {options}`',
  ),
  v.title('Models'), v.description('The models to serve, in order. Keys are unique.'),
);

/** The `defaults:` section, applied to every model. */
export const DefaultsSchema = v.pipe(
  v.strictObject(
    {
      image: v.optional(Image('Image', `vLLM image for every model (a model's image: wins). Default: VLLM_IMAGE from .env, then ${DEFAULT_VLLM_IMAGE}.`)),
      env: v.optional(EnvMap),
      volumes: v.optional(Volumes),
      pull: v.optional(Pull),
      replace: v.optional(Replace),
      idle: v.optional(Idle),
      'wake-timeout': v.optional(WakeTimeout),
      replicas: v.optional(Replicas),
      routing: v.optional(Routing),
    },
    'must be a map with image, env, volumes, pull, replace, idle, wake-timeout, replicas or routing',
  ),
  v.title('Defaults'), v.description('Settings for every model; a model\'s own image and pull win, its env and volumes are added (same name or target: the model wins).'),
);

/** The `gateway:` section. */
export const GatewaySchema = v.pipe(
  v.strictObject(
    {
      mode: v.optional(
        v.pipe(
          v.picklist(['managed', 'external', 'none'], 'must be managed, external or none'),
          v.title('Gateway mode'), v.description('`managed` (default): inferstack runs the LiteLLM container. `external`: an existing LiteLLM at url. `none`: no gateway.'),
        ),
      ),
      sync: v.optional(
        v.pipe(
          v.picklist(['config', 'api'], 'must be config or api'),
          v.title('Sync method'), v.description('`config` (default): write LiteLLM\'s config file and a routes file that inferstack\'s plugin applies inside the running gateway, no restart (no database needed). `api`: use the admin API (needs LiteLLM with a database).'),
        ),
      ),
      url: v.optional(
        v.pipe(
          v.string('must be a URL'),
          v.regex(/^https?:\/\/[^\s/]+(?:\/[^\s]*)?$/, 'must be an http:// or https:// URL'),
          v.title('URL'), v.description('Base URL of the gateway as seen from this machine. Required with mode: external; default for managed: http://127.0.0.1:<port>.'),
        ),
      ),
      port: v.optional(Port('Port', `Host port of a managed gateway. Default: GATEWAY_PORT from .env, then ${DEFAULT_GATEWAY_PORT}.`)),
      image: v.optional(Image('Image', `LiteLLM image of a managed gateway. Default: LITELLM_IMAGE from .env, then ${DEFAULT_LITELLM_IMAGE}. Never use 1.82.7, 1.82.8 or 1.107.0.`)),
      'ui-username': v.optional(
        v.pipe(
          v.string('must be a user name'),
          v.regex(/^\S+$/, 'must be a user name without spaces'),
          v.title('Admin UI user'), v.description("User name of the gateway's admin UI login (LiteLLM's UI_USERNAME). Default: LITELLM_USERNAME from .env, then LiteLLM's admin. The password is LITELLM_PASSWORD in .env (unset: the master key)."),
        ),
      ),
      database: v.optional(
        v.pipe(
          v.strictObject(
            {
              image: v.optional(Image('Image', `Postgres image of the gateway's database in API mode. Default: POSTGRES_IMAGE (or LITELLM_DB_IMAGE) from .env, then ${DEFAULT_DATABASE_IMAGE}.`)),
            },
            'must be a map with image',
          ),
          v.title('Database'), v.description("The Postgres inferstack runs for a managed gateway with sync: api (unless DATABASE_URL names your own); its password is POSTGRES_PASSWORD (or LITELLM_DB_PASSWORD) in .env."),
        ),
      ),
      'config-file': v.optional(
        v.pipe(
          v.string('must be a path'),
          v.minLength(1, 'must not be empty'),
          v.title('Config file'), v.description(`LiteLLM config file of a managed gateway, relative to the project directory. Default: ${DEFAULT_LITELLM_CONFIG_FILE}.`),
        ),
      ),
      'container-name': v.optional(ContainerName('Name of the managed container (its database, in API mode, is <name>-db). Default: litellm.', MAX_HOST_NAME_LENGTH - '-db'.length)),
      bind: v.optional(
        v.pipe(
          v.union(
            [v.pipe(v.string(), v.ipv4(IP_MESSAGE)), v.pipe(v.string(), v.ipv6(IP_MESSAGE))],
            IP_MESSAGE,
          ),
          v.title('Bind address'), v.description(`Host address a managed gateway is published on. Default: ${DEFAULT_GATEWAY_BIND} (this machine only).`),
        ),
      ),
    },
    'must be a map with mode, sync, url, port, image, ui-username, database, config-file, container-name or bind',
  ),
  v.title('Gateway'), v.description('The LiteLLM gateway (container `litellm`).'),
);

/** The `monitoring:` section. */
export const MonitoringSchema = v.pipe(
  v.strictObject(
    {
      mode: v.optional(
        v.pipe(
          v.picklist(['managed', 'external', 'none'], 'must be managed, external or none'),
          v.title('Monitoring mode'), v.description('`managed` (default): inferstack runs Prometheus (and Grafana). `external`: an existing Prometheus at prometheus.url reading targets-dir. `none`: no monitoring.'),
        ),
      ),
      prometheus: v.optional(
        v.pipe(
          v.strictObject(
            {
              url: v.optional(
                v.pipe(
                  v.string('must be a URL'),
                  v.regex(/^https?:\/\/[^\s/]+(?:\/[^\s]*)?$/, 'must be an http:// or https:// URL'),
                  v.title('URL'), v.description('Prometheus base URL as seen from this machine. Required with mode: external.'),
                ),
              ),
              port: v.optional(Port('Port', `Host port of a managed Prometheus. Default: PROMETHEUS_PORT from .env, then ${DEFAULT_PROMETHEUS_PORT}.`)),
              image: v.optional(Image('Image', `Prometheus image. Default: PROMETHEUS_IMAGE from .env, then ${DEFAULT_PROMETHEUS_IMAGE}.`)),
              'container-name': v.optional(ContainerName('Name of the managed container. Default: prometheus.')),
              'targets-dir': v.optional(
                v.pipe(
                  v.string('must be a path'),
                  v.minLength(1, 'must not be empty'),
                  v.title('Targets directory'), v.description(`Host directory for file_sd target files, relative to the project directory. Default: ${DEFAULT_TARGETS_DIR}.`),
                ),
              ),
            },
            'must be a map with url, port, image, container-name or targets-dir',
          ),
          v.title('Prometheus'), v.description('Prometheus settings.'),
        ),
      ),
      grafana: v.optional(
        v.pipe(
          v.strictObject(
            {
              enabled: v.optional(v.pipe(v.boolean('must be true or false'), v.title('Enabled'), v.description('Run Grafana. Default: true with mode: managed.'))),
              port: v.optional(Port('Port', `Host port of Grafana. Default: GRAFANA_PORT from .env, then ${DEFAULT_GRAFANA_PORT}.`)),
              image: v.optional(Image('Image', `Grafana image. Default: GRAFANA_IMAGE from .env, then ${DEFAULT_GRAFANA_IMAGE}.`)),
              'container-name': v.optional(ContainerName('Name of the managed container. Default: grafana.')),
              'admin-user': v.optional(
                v.pipe(
                  v.string('must be a user name'),
                  v.regex(/^\S+$/, 'must be a user name without spaces'),
                  v.title('Admin user'), v.description("Grafana's admin user name (GF_SECURITY_ADMIN_USER). Default: GRAFANA_ADMIN_USER from .env, then Grafana's admin."),
                ),
              ),
            },
            'must be a map with enabled, port, image, admin-user or container-name',
          ),
          v.title('Grafana'), v.description('Grafana settings; the admin password comes from GRAFANA_ADMIN_PASSWORD in .env.'),
        ),
      ),
      'node-exporter': v.optional(
        v.pipe(
          v.strictObject(
            {
              enabled: v.optional(v.pipe(v.boolean('must be true or false'), v.title('Enabled'), v.description('Run node-exporter (host CPU, memory, disk). Default: true with mode: managed.'))),
              image: v.optional(Image('Image', `node-exporter image. Default: NODE_EXPORTER_IMAGE from .env, then ${DEFAULT_NODE_EXPORTER_IMAGE}.`)),
              'container-name': v.optional(ContainerName('Name of the managed container.')),
            },
            'must be a map with enabled, image or container-name',
          ),
          v.title('node-exporter'), v.description('node-exporter settings.'),
        ),
      ),
      'dcgm-exporter': v.optional(
        v.pipe(
          v.strictObject(
            {
              enabled: v.optional(v.pipe(v.boolean('must be true or false'), v.title('Enabled'), v.description('Run the NVIDIA DCGM exporter (GPU metrics). Default: with mode: managed, where the Docker host has NVIDIA GPUs.'))),
              image: v.optional(Image('Image', `DCGM exporter image. Default: DCGM_EXPORTER_IMAGE from .env, then ${DEFAULT_DCGM_EXPORTER_IMAGE}.`)),
              'container-name': v.optional(ContainerName('Name of the managed container.')),
              'remote-hostengine': v.optional(
                v.pipe(
                  v.string('must be host:port'),
                  v.regex(new RegExp(HOSTENGINE_PATTERN), 'must be host:port of an nv-hostengine, e.g. host.docker.internal:5555'),
                  v.title('Remote host engine'), v.description('host:port of an nv-hostengine to read the GPUs from instead of the exporter starting its own DCGM engine, e.g. host.docker.internal:5555 for the Docker host\'s (its nv-hostengine must listen on an address containers reach). Default: DCGM_REMOTE_HOSTENGINE_INFO from .env, else none.'),
                ),
              ),
              devices: v.optional(
                v.pipe(
                  v.string('must be a device selection such as f'),
                  v.regex(new RegExp(DCGM_DEVICES_PATTERN), 'must be f, g, i, or g:/i: with indices like g:0,2-3'),
                  v.title('Devices'), v.description(`Devices to report: f (every GPU, or its MIG instances), g[:ids] (GPUs), i[:ids] (MIG instances). Default: DCGM_EXPORTER_DEVICES_STR from .env, then ${DEFAULT_DCGM_DEVICES}.`),
                ),
              ),
              interval: v.optional(
                v.pipe(
                  v.number('must be a number of milliseconds'),
                  v.integer('must be a whole number of milliseconds'),
                  v.minValue(1, 'must be 1 millisecond or more'),
                  v.title('Collection interval'), v.description(`How often the exporter collects, in milliseconds. Default: DCGM_EXPORTER_INTERVAL from .env, then ${DEFAULT_DCGM_INTERVAL_MS}.`),
                ),
              ),
            },
            'must be a map with enabled, image, container-name, remote-hostengine, devices or interval',
          ),
          v.title('DCGM exporter'), v.description('DCGM exporter settings.'),
        ),
      ),
      'scrape-configs': v.optional(
        v.pipe(
          v.array(
            v.looseObject(
              { job_name: v.pipe(v.string('must be a string'), v.minLength(1, 'must not be empty')) },
              'must be a Prometheus scrape config (a map with job_name)',
            ),
            'must be a list of Prometheus scrape configs',
          ),
          v.title('Extra scrape configs'), v.description('Prometheus scrape_configs entries added as they are to the generated Prometheus config.'),
        ),
      ),
    },
    'must be a map with mode, prometheus, grafana or scrape-configs',
  ),
  v.title('Monitoring'), v.description('Prometheus and Grafana.'),
);

/** The `network:` setting. */
export const NetworkSchema = v.pipe(
  v.string('must be a Docker network name'),
  v.regex(new RegExp(NETWORK_PATTERN), 'must be a Docker network name (letters, digits, _ . -)'),
  v.title('Network'), v.description(`Docker network for every container. Default: ${DEFAULT_NETWORK}.`),
);

/** A stack's name: lower-case letters, digits, `_` and `-`, as compose project names. */
export const STACK_NAME_PATTERN = '^[a-z0-9][a-z0-9_-]*$';

export const StackNameSchema = v.pipe(
  v.string('must be a stack name'),
  v.regex(new RegExp(STACK_NAME_PATTERN), 'must be lower-case letters, digits, _ and - (starting with a letter or digit)'),
  v.maxLength(
    MAX_STACK_NAME_LENGTH,
    (issue) => `is ${issue.received} characters long; at most ${MAX_STACK_NAME_LENGTH}: the watcher's container is <name>-watcher, a host name of at most ${MAX_HOST_NAME_LENGTH}`,
  ),
  v.title('Stack name'),
  v.description(
    'The name of this stack, like a compose project name: it labels everything the stack creates and scopes what it manages (its models, gateway entries, Prometheus targets, lock). Default: the project directory\'s name.',
  ),
);

/** The `watcher:` section: the container that sleeps idle models and wakes them on a request. */
export const WatcherSchema = v.pipe(
  v.strictObject(
    {
      mode: v.optional(
        v.pipe(
          v.picklist(['managed', 'none'], 'must be managed or none'),
          v.title('Mode'),
          v.description('`managed` (default): serve up runs the watcher as a container of the stack. `none`: no container; run `serve watch` yourself (models then sleep and wake only while it runs).'),
        ),
      ),
      image: v.optional(Image('Image', `A Node.js image (20 or newer) the watcher runs in; serve copies its own program into the container. Default: ${DEFAULT_WATCHER_IMAGE}.`)),
      'container-name': v.optional(ContainerName('Name of the watcher container. Default: <stack>-watcher.')),
    },
    'must be a map with mode, image or container-name',
  ),
  v.title('Watcher'),
  v.description('The watcher runs wherever a model has an idle policy or a swap group: it puts idle models to sleep (or stops them), wakes them on the first request through the gateway, and keeps the gateway and Prometheus in step with the models that serve.'),
);

/** The whole models.yaml file. */
export const ModelsFileSchema = v.pipe(
  v.strictObject(
    {
      models: ModelsSchema,
      defaults: v.optional(DefaultsSchema),
      gateway: v.optional(GatewaySchema),
      monitoring: v.optional(MonitoringSchema),
      name: v.optional(StackNameSchema),
      network: v.optional(NetworkSchema),
      watcher: v.optional(WatcherSchema),
      hosts: v.optional(HostsSchema),
    },
    'must be a map with models and optional name, defaults, gateway, monitoring, network, watcher, hosts',
  ),
  v.title('inferstack models.yaml'), v.description('Models served by vLLM behind a LiteLLM gateway, with Prometheus monitoring. See the @inferstack/config README.'),
);

/** Keys allowed at the top of models.yaml. */
export const TOP_LEVEL_KEYS = ['name', 'models', 'defaults', 'gateway', 'monitoring', 'network', 'watcher', 'hosts'] as const;

/**
 * The JSON Schema (draft-07) of models.yaml, for editors (yaml-language-server) and other
 * tools. The package ships it as `@inferstack/config/schema.json`.
 */
export function modelsJsonSchema(): Record<string, unknown> {
  // Model options appear in both forms of `models:`; a definition keeps the file small.
  const schema = toJsonSchema(ModelsFileSchema, {
    errorMode: 'throw',
    // Checks are for the parser; the JSON Schema carries their patterns and ranges.
    ignoreActions: ['check'],
    definitions: { modelOptions: ModelOptionsSchema },
  }) as Record<string, unknown>;
  // Top-level `x-` keys hold YAML anchors (as in compose files); valibot cannot say so.
  return { ...schema, patternProperties: { '^x-': { description: 'Free: a place for YAML anchors (&name) that models merge with <<: *name.' } } };
}
