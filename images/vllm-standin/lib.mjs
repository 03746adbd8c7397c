// Pure parts of the vLLM stand-in: argv parsing (argparse's behaviour and wording), Python-style
// reprs for log lines, the failure texts vLLM really prints, completions, and the /metrics text.
// No I/O here: server.mjs does the timing, the sockets and the signals. Plain ESM, Node's own modules only.

import { createHash } from 'node:crypto';

export const VERSION = '0.12.0-standin';
export const DEFAULT_MODEL = 'Qwen/Qwen3-0.6B';
const GiB = 1024 ** 3;

// ---------------------------------------------------------------------------------------------
// Flags. One line per real `vllm serve` flag (v0.11/v0.12), in argparse's definition order so
// `non-default args` prints in vLLM's order. type: bool (also --no-X), str, int, hint
// (human-readable int: 32k = 32000, 32K = 32768), float, json, list (nargs +), opt (nargs ?),
// choice:a,b,c. `=default` where vLLM's default is not None/False. `-x` adds a short alias.
const FLAG_TABLE = `
config str
host str
port int =8000
uds str
uvicorn-log-level choice:critical,debug,error,info,trace,warning =info
disable-uvicorn-access-log bool
allow-credentials bool
allowed-origins json
allowed-methods json
allowed-headers json
api-key list
lora-modules list
chat-template str
chat-template-content-format choice:auto,string,openai =auto
trust-request-chat-template bool
response-role str =assistant
ssl-keyfile str
ssl-certfile str
ssl-ca-certs str
enable-ssl-refresh bool
ssl-cert-reqs int =0
root-path str
middleware str
return-tokens-as-token-ids bool
disable-frontend-multiprocessing bool
enable-request-id-headers bool
enable-auto-tool-choice bool
exclude-tools-when-tool-choice-none bool
tool-call-parser str
tool-parser-plugin str
tool-server str
log-config-file str
max-log-len int
disable-fastapi-docs bool
enable-prompt-tokens-details bool
enable-server-load-tracking bool
enable-force-include-usage bool
enable-tokenizer-info-endpoint bool
enable-log-outputs bool
h11-max-incomplete-event-size int
h11-max-header-count int
log-error-stack bool
tokens-only bool
model str
runner choice:auto,draft,generate,pooling =auto
convert choice:auto,classify,embed,none,reward =auto
task str
tokenizer str
tokenizer-mode choice:auto,custom,mistral,slow =auto
trust-remote-code bool
dtype choice:auto,bfloat16,float,float16,float32,half =auto
seed int =0
hf-config-path str
allowed-local-media-path str
allowed-media-domains list
revision str
code-revision str
rope-scaling json
rope-theta float
tokenizer-revision str
max-model-len hint
quantization str -q
enforce-eager bool
max-logprobs int =20
logprobs-mode choice:processed_logits,processed_logprobs,raw_logits,raw_logprobs =raw_logprobs
disable-sliding-window bool
disable-cascade-attn bool
skip-tokenizer-init bool
enable-prompt-embeds bool
served-model-name list
config-format str =auto
hf-token opt
hf-overrides json
pooler-config json
override-pooler-config json
logits-processor-pattern str
generation-config str =auto
override-generation-config json
enable-sleep-mode bool
model-impl choice:auto,terratorch,transformers,vllm =auto
override-attention-dtype str
logits-processors list
io-processor-plugin str
load-format str =auto
download-dir str
safetensors-load-strategy str =lazy
model-loader-extra-config json
ignore-patterns list
use-tqdm-on-load bool
pt-load-map-location str =cpu
reasoning-parser str
guided-decoding-backend str
distributed-executor-backend choice:external_launcher,mp,ray,uni
pipeline-parallel-size int =1 -pp
tensor-parallel-size int =1 -tp
decode-context-parallel-size int =1 -dcp
data-parallel-size int =1 -dp
data-parallel-rank int -dpn
data-parallel-start-rank int -dpr
data-parallel-size-local int -dpl
data-parallel-address str -dpa
data-parallel-rpc-port int -dpp
data-parallel-backend str =mp -dpb
data-parallel-hybrid-lb bool
enable-expert-parallel bool
enable-dbo bool
enable-eplb bool
eplb-config json
expert-placement-strategy choice:linear,round_robin =linear
max-parallel-loading-workers int
ray-workers-use-nsight bool
disable-custom-all-reduce bool
worker-cls str =auto
worker-extension-cls str
enable-multimodal-encoder-data-parallel bool
block-size int
gpu-memory-utilization float =0.9
kv-cache-memory-bytes hint
swap-space float =4
kv-cache-dtype choice:auto,bfloat16,fp8,fp8_ds_mla,fp8_e4m3,fp8_e5m2,fp8_inc =auto
num-gpu-blocks-override int
enable-prefix-caching bool
prefix-caching-hash-algo choice:sha256,sha256_cbor =sha256
cpu-offload-gb float =0
calculate-kv-scales bool
kv-sharing-fast-prefill bool
mamba-cache-dtype choice:auto,float16,float32 =auto
mamba-ssm-cache-dtype choice:auto,float16,float32 =auto
limit-mm-per-prompt json
media-io-kwargs json
mm-processor-kwargs json
mm-processor-cache-gb float =4
disable-mm-preprocessor-cache bool
mm-processor-cache-type choice:lru,shm =lru
mm-encoder-tp-mode choice:data,weights =weights
interleave-mm-strings bool
skip-mm-profiling bool
enable-lora bool
enable-lora-bias bool
max-loras int =1
max-lora-rank int =16
lora-extra-vocab-size int =256
lora-dtype str =auto
max-cpu-loras int
fully-sharded-loras bool
default-mm-loras json
show-hidden-metrics-for-version str
otlp-traces-endpoint str
collect-detailed-traces list
max-num-batched-tokens hint
max-num-seqs int
max-num-partial-prefills int =1
max-long-partial-prefills int =1
long-prefill-token-threshold int =0
num-lookahead-slots int =0
scheduling-policy choice:fcfs,priority =fcfs
enable-chunked-prefill bool
disable-chunked-mm-input bool
scheduler-cls str
disable-hybrid-kv-cache-manager bool
async-scheduling bool
speculative-config json
kv-transfer-config json
kv-events-config json
compilation-config json -O
additional-config json
structured-outputs-config json
disable-log-stats bool
enable-log-requests bool
disable-log-requests bool
`;

/** @typedef {{ name: string, dest: string, type: string, choices?: string[], def?: unknown, short?: string }} Flag */

/** @returns {Map<string, Flag>} flags by long name */
function buildFlags() {
  const flags = new Map();
  for (const line of FLAG_TABLE.trim().split('\n')) {
    const [name, typeSpec, ...rest] = line.trim().split(/\s+/);
    /** @type {Flag} */
    const flag = { name, dest: name.replaceAll('-', '_'), type: typeSpec };
    if (typeSpec.startsWith('choice:')) {
      flag.type = 'choice';
      flag.choices = typeSpec.slice(7).split(',');
    }
    for (const r of rest) {
      if (r.startsWith('=')) flag.def = convertDefault(flag, r.slice(1));
      else if (r.startsWith('-')) flag.short = r;
    }
    flags.set(name, flag);
  }
  return flags;
}
function convertDefault(flag, raw) {
  if (flag.type === 'int' || flag.type === 'hint') return Number.parseInt(raw, 10);
  if (flag.type === 'float') return Number.parseFloat(raw);
  return raw;
}
export const FLAGS = buildFlags();
const SHORT = new Map([...FLAGS.values()].filter((f) => f.short).map((f) => [f.short, f]));

/** The program names argparse prints, per entrypoint style. */
export const PROG = { serve: 'vllm serve', legacy: 'api_server.py' };

/**
 * Parse argv like vLLM's FlexibleArgumentParser (an argparse.ArgumentParser).
 * style 'serve': `vllm serve [model_tag] [options]` (a `--model X` is moved to the front with a
 * deprecation warning, as vLLM 0.11/0.12 do); style 'legacy': `python3 -m
 * vllm.entrypoints.openai.api_server [options]`, which has no positional at all.
 * @param {string[]} argv arguments after the entrypoint
 * @param {'serve'|'legacy'} style
 * @returns {{ ok: true, args: Record<string, unknown>, given: string[], warnings: string[] }
 *   | { ok: false, exitCode: number, stdout?: string, stderr?: string }}
 */
export function parseArgv(argv, style) {
  const warnings = [];
  let tokens = [...argv];
  if (style === 'serve') {
    const i = tokens.findIndex((t) => t === '--model' || t.startsWith('--model='));
    if (i >= 0) {
      warnings.push(
        'With `vllm serve`, you should provide the model as a positional argument or in a config file instead of via the `--model` option. The `--model` option will be removed in v0.13.',
      );
      const tag = tokens[i] === '--model' ? tokens[i + 1] : tokens[i].slice('--model='.length);
      const restStart = tokens[i] === '--model' ? i + 2 : i + 1;
      if (tag !== undefined) tokens = [tag, ...tokens.slice(0, i), ...tokens.slice(restStart)];
    }
  }
  /** @type {Record<string, unknown>} */
  const args = {};
  const given = [];
  const extras = [];
  const fail = (msg) => ({ ok: false, exitCode: 2, stderr: `${usage(style)}${PROG[style]}: error: ${msg}\n` });
  let positionalTaken = style !== 'serve';
  let onlyPositionals = false;
  for (let i = 0; i < tokens.length; i++) {
    const tok = tokens[i];
    if (onlyPositionals || !tok.startsWith('-') || tok === '-' || /^-\d/.test(tok)) {
      if (!positionalTaken) {
        args.model_tag = tok;
        given.push('model_tag');
        positionalTaken = true;
      } else extras.push(tok);
      continue;
    }
    if (tok === '--') {
      onlyPositionals = true;
      continue;
    }
    if (tok === '-h' || tok === '--help') return { ok: false, exitCode: 0, stdout: help(style) };
    let name;
    let inline;
    /** @type {Flag | undefined} */
    let flag;
    let negated = false;
    if (tok.startsWith('--')) {
      const eq = tok.indexOf('=');
      // vLLM accepts --max_model_len for --max-model-len (FlexibleArgumentParser rewrites it).
      name = (eq >= 0 ? tok.slice(2, eq) : tok.slice(2)).replaceAll('_', '-');
      inline = eq >= 0 ? tok.slice(eq + 1) : undefined;
      flag = FLAGS.get(name);
      if (!flag && name.startsWith('no-')) {
        const base = FLAGS.get(name.slice(3));
        if (base?.type === 'bool') {
          flag = base;
          negated = true;
        }
      }
    } else {
      // -tp 2, -tp=2, -O3, -q awq
      const eq = tok.indexOf('=');
      name = eq >= 0 ? tok.slice(0, eq) : tok;
      inline = eq >= 0 ? tok.slice(eq + 1) : undefined;
      flag = SHORT.get(name);
      if (!flag && tok.startsWith('-O') && tok.length > 2) {
        flag = FLAGS.get('compilation-config');
        inline = tok.slice(2);
      }
    }
    if (!flag) {
      extras.push(tok);
      continue;
    }
    const shown = tok.startsWith('--') ? `--${negated ? 'no-' : ''}${flag.name}` : name;
    if (flag.type === 'bool') {
      if (inline !== undefined) return fail(`argument ${shown}: ignored explicit argument '${inline}'`);
      args[flag.dest] = !negated;
      given.push(flag.dest);
      continue;
    }
    const takeValue = () => {
      if (inline !== undefined) return inline;
      const next = tokens[i + 1];
      if (next === undefined || (next.startsWith('-') && !/^-\d/.test(next))) return undefined;
      i++;
      return next;
    };
    if (flag.type === 'list') {
      const values = inline !== undefined ? [inline] : [];
      if (inline === undefined) {
        while (i + 1 < tokens.length && !(tokens[i + 1].startsWith('-') && !/^-\d/.test(tokens[i + 1]))) {
          values.push(tokens[++i]);
        }
      }
      if (values.length === 0) return fail(`argument ${shown}: expected at least one argument`);
      args[flag.dest] = values;
      given.push(flag.dest);
      continue;
    }
    if (flag.type === 'opt') {
      const v = takeValue();
      args[flag.dest] = v ?? true;
      given.push(flag.dest);
      continue;
    }
    const raw = takeValue();
    if (raw === undefined) return fail(`argument ${shown}: expected one argument`);
    const conv = convert(flag, raw);
    if (conv.error) return fail(`argument ${shown}: ${conv.error}`);
    args[flag.dest] = conv.value;
    given.push(flag.dest);
  }
  if (extras.length > 0) return fail(`unrecognized arguments: ${extras.join(' ')}`);
  return { ok: true, args, given, warnings };
}

function convert(flag, raw) {
  switch (flag.type) {
    case 'int':
      if (!/^\s*[-+]?\d+\s*$/.test(raw)) return { error: `invalid int value: ${pyStr(raw)}` };
      return { value: Number.parseInt(raw, 10) };
    case 'hint': {
      const m = /^\s*(-?\d+(?:\.\d+)?)\s*([kKmMgGtT]?)\s*$/.exec(raw);
      if (raw === 'auto') return { value: -1 };
      if (!m) return { error: `invalid human_readable_int value: ${pyStr(raw)}` };
      const dec = { k: 1e3, m: 1e6, g: 1e9, t: 1e12 };
      const bin = { K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };
      const mult = m[2] ? (dec[m[2]] ?? bin[m[2]]) : 1;
      if (m[1].includes('.') && !m[2]) return { error: `invalid human_readable_int value: ${pyStr(raw)}` };
      return { value: Math.trunc(Number.parseFloat(m[1]) * mult) };
    }
    case 'float': {
      const v = Number(raw.trim());
      if (raw.trim() === '' || Number.isNaN(v)) return { error: `invalid float value: ${pyStr(raw)}` };
      return { value: v, float: true };
    }
    case 'choice':
      if (!flag.choices.includes(raw)) {
        return { error: `invalid choice: ${pyStr(raw)} (choose from ${flag.choices.map(pyStr).join(', ')})` };
      }
      return { value: raw };
    case 'json':
      // vLLM parses these as JSON (or dotted key=value for some); keep the object when it parses.
      try {
        return { value: JSON.parse(raw) };
      } catch {
        return { value: raw };
      }
    default:
      return { value: raw };
  }
}

function usage(style) {
  if (style === 'serve') return 'usage: vllm serve [model_tag] [options]\n';
  const head = `usage: ${PROG.legacy} `;
  const parts = ['[-h]'];
  for (const f of FLAGS.values()) {
    const meta = f.dest.toUpperCase();
    if (f.type === 'bool') parts.push(`[--${f.name} | --no-${f.name}]`);
    else if (f.type === 'choice') parts.push(`[--${f.name} {${f.choices.join(',')}}]`);
    else if (f.type === 'list') parts.push(`[--${f.name} ${meta} [${meta} ...]]`);
    else if (f.type === 'opt') parts.push(`[--${f.name} [${meta}]]`);
    else parts.push(`[--${f.name} ${meta}]`);
  }
  const lines = [];
  let line = head;
  for (const p of parts) {
    if (line.length + p.length + 1 > 100 && line.trim().length > head.trim().length) {
      lines.push(line.trimEnd());
      line = ' '.repeat(head.length);
    }
    line += `${p} `;
  }
  lines.push(line.trimEnd());
  return `${lines.join('\n')}\n`;
}

function help(style) {
  const lines = [usage(style).trimEnd(), '', 'options:', '  -h, --help            show this help message and exit'];
  for (const f of FLAGS.values()) {
    const def = f.def === undefined ? '' : ` (default: ${f.def})`;
    lines.push(`  --${f.name}${f.short ? `, ${f.short}` : ''}${def}`);
  }
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// Python reprs, for `non-default args: {...}` and error texts.

/** Python's repr of a str. */
export function pyStr(s) {
  const q = s.includes("'") && !s.includes('"') ? '"' : "'";
  const body = s.replaceAll('\\', '\\\\').replaceAll('\n', '\\n').replaceAll('\t', '\\t');
  return q + (q === "'" ? body.replaceAll("'", "\\'") : body) + q;
}

/** Python's repr of a float (0.9, 1.0, 1e-05). */
export function pyFloat(n) {
  if (n === Number.POSITIVE_INFINITY) return 'inf';
  if (n === Number.NEGATIVE_INFINITY) return '-inf';
  if (Number.isNaN(n)) return 'nan';
  const a = Math.abs(n);
  // repr switches to exponent notation below 1e-4 and from 1e16, with a two-digit exponent.
  if (a !== 0 && (a < 1e-4 || a >= 1e16)) return n.toExponential().replace(/e([+-])(\d)$/, 'e$10$2');
  if (Number.isInteger(n)) return `${n}.0`;
  return String(n);
}

/** Python's repr of a JSON-ish value (dicts, lists, str, int, float with {float:true}, bools). */
export function pyRepr(v, isFloat = false) {
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'number') return isFloat ? pyFloat(v) : String(v);
  if (typeof v === 'string') return pyStr(v);
  if (Array.isArray(v)) return `[${v.map((x) => pyRepr(x)).join(', ')}]`;
  return `{${Object.entries(v)
    .map(([k, x]) => `${pyStr(k)}: ${pyRepr(x)}`)
    .join(', ')}}`;
}

/** `non-default args: {...}` as vLLM logs it: parser order, only values that differ from the default. */
export function nonDefaultArgs(args) {
  const entries = [];
  if (args.model_tag !== undefined) entries.push(`'model_tag': ${pyStr(String(args.model_tag))}`);
  for (const f of FLAGS.values()) {
    if (!(f.dest in args)) continue;
    const v = args[f.dest];
    const def = f.def ?? (f.type === 'bool' ? false : undefined);
    if (v === def) continue;
    entries.push(`${pyStr(f.dest)}: ${pyRepr(v, f.type === 'float')}`);
  }
  return `{${entries.join(', ')}}`;
}

// ---------------------------------------------------------------------------------------------
// The configuration a parsed argv and the environment amount to.

/**
 * @param {Record<string, unknown>} args parsed flags (dest → value)
 * @param {Record<string, string | undefined>} env
 */
export function resolveConfig(args, env = {}) {
  const model = String(args.model_tag ?? args.model ?? DEFAULT_MODEL);
  const served = /** @type {string[] | undefined} */ (args.served_model_name) ?? [model];
  const envKey = env.VLLM_API_KEY;
  const apiKeys = /** @type {string[] | undefined} */ (args.api_key) ?? (envKey ? [envKey] : []);
  const num = (name, def) => {
    const v = env[name];
    if (v === undefined || v === '') return def;
    const n = Number(v);
    return Number.isFinite(n) ? n : def;
  };
  const gpu = {
    count: num('STANDIN_GPU_COUNT', 1),
    totalGiB: num('STANDIN_GPU_MEMORY_GIB', 79.19),
    freeGiB: undefined,
    weightsGiB: num('STANDIN_WEIGHTS_GIB', 1.12),
    // Activation peak + CUDA graphs + non-torch memory, as vLLM's profile run finds it.
    overheadGiB: 0.6,
    // Per-token KV size of a Qwen3-0.6B-like model: 28 layers × 8 KV heads × 128 × 2 (K,V) × 2 bytes.
    bytesPerToken: num('STANDIN_KV_BYTES_PER_TOKEN', 114688),
    heads: num('STANDIN_NUM_HEADS', 32),
  };
  gpu.freeGiB = num('STANDIN_GPU_FREE_GIB', round2(gpu.totalGiB * 0.995));
  const util = /** @type {number} */ (args.gpu_memory_utilization ?? 0.9);
  const derivedMaxLen = num('STANDIN_DERIVED_MAX_MODEL_LEN', 131072);
  const requestedMaxLen = /** @type {number | undefined} */ (args.max_model_len);
  const kvAvailableGiB = util * gpu.totalGiB - gpu.weightsGiB - gpu.overheadGiB;
  const kvTokensFromMemory = Math.max(0, Math.floor((kvAvailableGiB * GiB) / gpu.bytesPerToken / 16) * 16);
  const kvTokens = env.STANDIN_KV_CACHE_TOKENS ? num('STANDIN_KV_CACHE_TOKENS', kvTokensFromMemory) : kvTokensFromMemory;
  const maxModelLen =
    requestedMaxLen === undefined || requestedMaxLen === -1
      ? Math.min(derivedMaxLen, requestedMaxLen === -1 ? kvTokens : derivedMaxLen)
      : requestedMaxLen;
  return {
    model,
    served,
    apiKeys,
    host: /** @type {string | undefined} */ (args.host) ?? '0.0.0.0',
    port: /** @type {number} */ (args.port ?? 8000),
    maxModelLen,
    requestedMaxLen,
    derivedMaxLen,
    tp: /** @type {number} */ (args.tensor_parallel_size ?? 1),
    pp: /** @type {number} */ (args.pipeline_parallel_size ?? 1),
    util,
    dtype: String(args.dtype ?? 'auto'),
    maxNumSeqs: /** @type {number} */ (args.max_num_seqs ?? 256),
    maxNumBatchedTokens: /** @type {number} */ (args.max_num_batched_tokens ?? 8192),
    enforceEager: args.enforce_eager === true,
    trustRemoteCode: args.trust_remote_code === true,
    autoToolChoice: args.enable_auto_tool_choice === true,
    toolCallParser: /** @type {string | undefined} */ (args.tool_call_parser),
    accessLog: args.disable_uvicorn_access_log !== true,
    enableSleepMode: args.enable_sleep_mode === true,
    logStats: args.disable_log_stats !== true,
    kvCacheDtype: String(args.kv_cache_dtype ?? 'auto'),
    gpu,
    kvAvailableGiB,
    kvTokens,
  };
}

/** A vLLM boolean environment variable (`bool(int(value))`): `1` on, `0` or unset off. */
export function envFlag(value) {
  return value !== undefined && /^\s*[-+]?\d+\s*$/.test(value) && Number.parseInt(value, 10) !== 0;
}

function round2(x) {
  return Math.round(x * 100) / 100;
}

/**
 * Which startup failure this configuration runs into, if any, in the order vLLM meets them:
 * config checks in the API server first, then the engine core. `forced` is STANDIN_FAIL.
 * @returns {string | undefined} a FAILURE_MODES key
 */
export function pickFailure(cfg, env = {}, forced = env.STANDIN_FAIL) {
  if (forced) return forced;
  if (cfg.gpu.count <= 0) return 'no-device';
  if (/gated/i.test(cfg.model) && !env.HF_TOKEN && !env.HUGGING_FACE_HUB_TOKEN) return 'gated';
  if (/does-not-exist/i.test(cfg.model)) return 'invalid-repo';
  if (/remote-code/i.test(cfg.model) && !cfg.trustRemoteCode) return 'remote-code';
  if (cfg.requestedMaxLen !== undefined && cfg.requestedMaxLen > cfg.derivedMaxLen && env.VLLM_ALLOW_LONG_MAX_MODEL_LEN !== '1') {
    return 'max-model-len';
  }
  if (cfg.gpu.heads % cfg.tp !== 0) return 'tp-divisible';
  if (cfg.tp * cfg.pp > cfg.gpu.count) return 'tp-gpu-count';
  if (cfg.gpu.freeGiB < cfg.util * cfg.gpu.totalGiB) return 'free-memory';
  if (cfg.kvAvailableGiB <= 0) return 'no-cache-blocks';
  if (cfg.kvTokens < cfg.maxModelLen) return 'kv-cache';
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Log lines.

/** `MM-DD HH:MM:SS` in UTC, vLLM's timestamp. */
export function stamp(now) {
  const p = (n) => String(n).padStart(2, '0');
  return `${p(now.getUTCMonth() + 1)}-${p(now.getUTCDate())} ${p(now.getUTCHours())}:${p(now.getUTCMinutes())}:${p(now.getUTCSeconds())}`;
}

/** One vLLM log line, e.g. `(APIServer pid=1) INFO 11-26 07:00:00 [api_server.py:1912] msg`. */
export function logLine(proc, level, where, msg, now) {
  const prefix = `${proc} ${level} ${stamp(now)} [${where}] `;
  return msg
    .split('\n')
    .map((l) => prefix + l)
    .join('\n');
}

/** Prefix every line with vLLM's process tag, as its stdout/stderr redirection does. */
export function tagLines(proc, text) {
  return text
    .split('\n')
    .map((l) => `${proc} ${l}`)
    .join('\n');
}

export const ROUTES = [
  ['/openapi.json', 'GET, HEAD'],
  ['/docs', 'GET, HEAD'],
  ['/docs/oauth2-redirect', 'GET, HEAD'],
  ['/redoc', 'GET, HEAD'],
  ['/health', 'GET'],
  ['/load', 'GET'],
  ['/ping', 'POST'],
  ['/ping', 'GET'],
  ['/tokenize', 'POST'],
  ['/detokenize', 'POST'],
  ['/v1/models', 'GET'],
  ['/version', 'GET'],
  ['/v1/responses', 'POST'],
  ['/v1/chat/completions', 'POST'],
  ['/v1/completions', 'POST'],
  ['/v1/embeddings', 'POST'],
  ['/pooling', 'POST'],
  ['/classify', 'POST'],
  ['/score', 'POST'],
  ['/rerank', 'POST'],
  ['/invocations', 'POST'],
  ['/metrics', 'GET'],
];

/**
 * Routes vLLM adds with `VLLM_SERVER_DEV_MODE=1` (the sleep-mode ones and their neighbours), listed
 * after the others as its dev routers are attached.
 */
export const DEV_ROUTES = [
  ['/sleep', 'POST'],
  ['/wake_up', 'POST'],
  ['/is_sleeping', 'GET'],
  ['/collective_rpc', 'POST'],
];

// ---------------------------------------------------------------------------------------------
// Sleep mode (`--enable-sleep-mode` + `VLLM_SERVER_DEV_MODE=1`): the engine's memory tags, what
// vLLM logs on sleep and wake, and its `vllm:engine_sleep_state` gauge.

/** The memory tags vLLM's sleep allocator knows. */
export const SLEEP_TAGS = ['weights', 'kv_cache'];

/**
 * `level` of `POST /sleep?level=` as vLLM reads it: `int(raw)`, default 1. Anything else than an
 * integer is a ValueError inside the handler, i.e. a plain 500.
 * @returns {number | undefined} undefined when int() would fail
 */
export function parseSleepLevel(raw) {
  if (raw === null || raw === undefined) return 1;
  if (!/^\s*[-+]?\d+\s*$/.test(raw)) return undefined;
  return Number.parseInt(raw, 10);
}

/**
 * `tags` of `POST /wake_up?tags=...` (repeatable): none means every sleeping tag (vLLM's None).
 * @param {string[]} raw
 */
export function parseWakeTags(raw) {
  return raw.length === 0 ? null : raw;
}

/**
 * GPU memory around a sleep, from the stand-in's memory model. Level 1 backs the weights up in CPU
 * memory and discards the KV cache; any other level discards both. What stays in use is the CUDA
 * context, graphs and activations (the profile's overhead) plus what other processes hold.
 * Without `--enable-sleep-mode` nothing was allocated through the sleep allocator: nothing is freed.
 * @param {ReturnType<typeof resolveConfig>} cfg
 */
export function sleepMemory(cfg, level, enabled = true) {
  const pool = enabled ? cfg.gpu.weightsGiB + Math.max(0, cfg.kvAvailableGiB) : 0;
  const backedUp = enabled && level === 1 ? cfg.gpu.weightsGiB : 0;
  const others = Math.max(0, cfg.gpu.totalGiB - cfg.gpu.freeGiB);
  const inUse = others + cfg.gpu.overheadGiB + (enabled ? 0 : cfg.gpu.weightsGiB + Math.max(0, cfg.kvAvailableGiB));
  return { freedGiB: pool, backedUpGiB: backedUp, discardedGiB: pool - backedUp, stillInUseGiB: inUse };
}

/** vLLM's log messages of one sleep: [where, message] for the engine core's lines. */
export function sleepLogMessages(cfg, level, seconds, enabled = true) {
  const m = sleepMemory(cfg, level, enabled);
  return [
    ['cumem.py:239', `CuMemAllocator: sleep freed ${m.freedGiB.toFixed(2)} GiB memory in total, of which ${m.backedUpGiB.toFixed(2)} GiB is backed up in CPU and the rest ${m.discardedGiB.toFixed(2)} GiB is discarded directly.`],
    ['gpu_worker.py:144', `Sleep mode freed ${m.freedGiB.toFixed(2)} GiB memory, ${m.stillInUseGiB.toFixed(2)} GiB memory is still in use.`],
    ['abstract.py:306', `It took ${seconds.toFixed(6)} seconds to fall asleep.`],
  ];
}

/** Python's repr of a list of str, and of the executor's set of sleeping tags. */
export function pyList(items) {
  return `[${items.map(pyStr).join(', ')}]`;
}
export function pySet(items) {
  return items.length === 0 ? 'set()' : `{${items.map(pyStr).join(', ')}}`;
}

/** vLLM's line of one wake: the tags asked for, or (none asked) the set that was sleeping. */
export function wakeLogMessage(tags, sleepingTags, seconds) {
  return `It took ${seconds.toFixed(6)} seconds to wake up tags ${tags ? pyList(tags) : pySet(sleepingTags)}.`;
}

/**
 * The three series of `vllm:engine_sleep_state`, as vLLM's record_sleep_state(sleep, level) sets
 * them: awake 1/0, weights_offloaded 1 at level 1, discard_all 1 at level 2.
 */
export function sleepStateSeries(sleeping, level) {
  if (!sleeping) return { awake: 1, weights_offloaded: 0, discard_all: 0 };
  return { awake: 0, weights_offloaded: level === 1 ? 1 : 0, discard_all: level === 2 ? 1 : 0 };
}

// ---------------------------------------------------------------------------------------------
// Startup failures: the texts vLLM prints (see docs/upstream/vllm.md), with enough traceback
// around them to look like the real thing.

const SITE = '/usr/local/lib/python3.12/dist-packages';

/** Modes of STANDIN_FAIL, with where vLLM meets them and when (fraction of the loading delay). */
export const FAILURE_MODES = {
  'no-device': { stage: 'config', at: 0.05 },
  gated: { stage: 'config', at: 0.1 },
  'invalid-repo': { stage: 'config', at: 0.1 },
  'unsupported-arch': { stage: 'config', at: 0.15 },
  'remote-code': { stage: 'config', at: 0.15 },
  'max-model-len': { stage: 'config', at: 0.15 },
  'tp-divisible': { stage: 'config', at: 0.15 },
  'tp-gpu-count': { stage: 'engine', at: 0.25 },
  'free-memory': { stage: 'engine', at: 0.3 },
  shm: { stage: 'engine', at: 0.35 },
  'cuda-oom': { stage: 'engine', at: 0.6 },
  'no-cache-blocks': { stage: 'engine', at: 0.7 },
  'kv-cache': { stage: 'engine', at: 0.7 },
  hang: { stage: 'hang', at: 0.3 },
  'crash-after-ready': { stage: 'runtime', at: 1 },
};

function apiServerFrames(style) {
  const head =
    style === 'serve'
      ? [
          '  File "/usr/local/bin/vllm", line 10, in <module>',
          '    sys.exit(main())',
          '             ^^^^^^',
          `  File "${SITE}/vllm/entrypoints/cli/main.py", line 73, in main`,
          '    args.dispatch_function(args)',
          `  File "${SITE}/vllm/entrypoints/cli/serve.py", line 59, in cmd`,
          '    uvloop.run(run_server(args))',
        ]
      : [
          '  File "<frozen runpy>", line 198, in _run_module_as_main',
          '  File "<frozen runpy>", line 88, in _run_code',
          `  File "${SITE}/vllm/entrypoints/openai/api_server.py", line 2024, in <module>`,
          '    uvloop.run(run_server(args))',
        ];
  return [
    'Traceback (most recent call last):',
    ...head,
    `  File "${SITE}/uvloop/__init__.py", line 109, in run`,
    '    return __asyncio.run(',
    '           ^^^^^^^^^^^^^^',
    '  File "/usr/lib/python3.12/asyncio/runners.py", line 195, in run',
    '    return runner.run(main)',
    '           ^^^^^^^^^^^^^^^^',
    '  File "/usr/lib/python3.12/asyncio/runners.py", line 118, in run',
    '    return self._loop.run_until_complete(task)',
    '           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^',
    '  File "uvloop/loop.pyx", line 1518, in uvloop.loop.Loop.run_until_complete',
    `  File "${SITE}/uvloop/__init__.py", line 61, in wrapper`,
    '    return await main',
    '           ^^^^^^^^^^',
    `  File "${SITE}/vllm/entrypoints/openai/api_server.py", line 1941, in run_server`,
    '    await run_server_worker(listen_address, sock, args, **uvicorn_kwargs)',
    `  File "${SITE}/vllm/entrypoints/openai/api_server.py", line 1961, in run_server_worker`,
    '    async with build_async_engine_client(',
    '  File "/usr/lib/python3.12/contextlib.py", line 210, in __aenter__',
    '    return await anext(self.gen)',
    '           ^^^^^^^^^^^^^^^^^^^^^',
    `  File "${SITE}/vllm/entrypoints/openai/api_server.py", line 179, in build_async_engine_client`,
    '    async with build_async_engine_client_from_engine_args(',
    '  File "/usr/lib/python3.12/contextlib.py", line 210, in __aenter__',
    '    return await anext(self.gen)',
    '           ^^^^^^^^^^^^^^^^^^^^^',
  ];
}

const CONFIG_FRAMES = [
  `  File "${SITE}/vllm/entrypoints/openai/api_server.py", line 205, in build_async_engine_client_from_engine_args`,
  '    vllm_config = engine_args.create_engine_config(usage_context=usage_context)',
  '                  ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^',
  `  File "${SITE}/vllm/engine/arg_utils.py", line 1237, in create_engine_config`,
  '    model_config = self.create_model_config()',
  '                   ^^^^^^^^^^^^^^^^^^^^^^^^^^',
  `  File "${SITE}/vllm/engine/arg_utils.py", line 1091, in create_model_config`,
  '    return ModelConfig(',
  '           ^^^^^^^^^^^^',
];
const PYDANTIC_FRAME = [
  `  File "${SITE}/pydantic/_internal/_dataclasses.py", line 121, in __init__`,
  '    s.__pydantic_validator__.validate_python(ArgsKwargs(args, kwargs), self_instance=s)',
];

function pydanticError(cls, message, cfg) {
  return [
    `pydantic_core._pydantic_core.ValidationError: 1 validation error for ${cls}`,
    `  Value error, ${message} [type=value_error, input_value=ArgsKwargs((), {'model': ${pyStr(cfg.model)}, 'runner': 'auto', 'convert': 'auto', ...}), input_type=ArgsKwargs]`,
    '    For further information visit https://errors.pydantic.dev/2.12/v/value_error',
  ];
}

const ENGINE_CORE_FRAMES = [
  'Traceback (most recent call last):',
  `  File "${SITE}/vllm/v1/engine/core.py", line 833, in run_engine_core`,
  '    engine_core = EngineCoreProc(*args, **kwargs)',
  '                  ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^',
  `  File "${SITE}/vllm/v1/engine/core.py", line 606, in __init__`,
  '    super().__init__(',
  `  File "${SITE}/vllm/v1/engine/core.py", line 102, in __init__`,
];

function engineFrames(mode) {
  if (mode === 'kv-cache' || mode === 'no-cache-blocks') {
    return [
      '    num_gpu_blocks, num_cpu_blocks, kv_cache_config = self._initialize_kv_caches(',
      '                                                      ^^^^^^^^^^^^^^^^^^^^^^^^^^^^',
      `  File "${SITE}/vllm/v1/engine/core.py", line 248, in _initialize_kv_caches`,
      '    kv_cache_configs = get_kv_cache_configs(',
      '                       ^^^^^^^^^^^^^^^^^^^^^',
      `  File "${SITE}/vllm/v1/core/kv_cache_utils.py", line 1243, in get_kv_cache_configs`,
      '    _check_enough_kv_cache_memory(',
      `  File "${SITE}/vllm/v1/core/kv_cache_utils.py", line ${mode === 'kv-cache' ? 716 : 698}, in _check_enough_kv_cache_memory`,
      '    raise ValueError(',
    ];
  }
  if (mode === 'cuda-oom') {
    return [
      '    num_gpu_blocks, num_cpu_blocks, kv_cache_config = self._initialize_kv_caches(',
      `  File "${SITE}/vllm/v1/engine/core.py", line 230, in _initialize_kv_caches`,
      '    available_gpu_memory = self.model_executor.determine_available_memory()',
      `  File "${SITE}/vllm/v1/worker/gpu_worker.py", line 287, in determine_available_memory`,
      '    self.model_runner.profile_run()',
      `  File "${SITE}/vllm/v1/worker/gpu_model_runner.py", line 3705, in profile_run`,
      '    output = self._dummy_sampler_run(last_hidden_states)',
      `  File "${SITE}/vllm/v1/worker/gpu_model_runner.py", line 3416, in _dummy_sampler_run`,
      '    raise RuntimeError(',
    ];
  }
  // executor construction: device init, TP checks, NCCL
  const lines = [
    '    self.model_executor = executor_class(vllm_config)',
    '                          ^^^^^^^^^^^^^^^^^^^^^^^^^^^',
    `  File "${SITE}/vllm/v1/executor/abstract.py", line 101, in __init__`,
    '    self._init_executor()',
  ];
  if (mode === 'free-memory') {
    return [
      ...lines,
      `  File "${SITE}/vllm/v1/executor/uniproc_executor.py", line 47, in _init_executor`,
      '    self.driver_worker.init_device()',
      `  File "${SITE}/vllm/v1/worker/worker_base.py", line 326, in init_device`,
      '    self.worker.init_device()  # type: ignore',
      '    ^^^^^^^^^^^^^^^^^^^^^^^^^',
      `  File "${SITE}/vllm/v1/worker/gpu_worker.py", line 227, in init_device`,
      '    raise ValueError(',
    ];
  }
  if (mode === 'tp-gpu-count') {
    return [
      ...lines,
      `  File "${SITE}/vllm/v1/executor/multiproc_executor.py", line 68, in _init_executor`,
      '    self._verify_and_get_device_count()',
      `  File "${SITE}/vllm/v1/executor/multiproc_executor.py", line 316, in _verify_and_get_device_count`,
      '    raise RuntimeError(',
    ];
  }
  return [
    ...lines,
    `  File "${SITE}/vllm/v1/executor/multiproc_executor.py", line 106, in _init_executor`,
    '    self.workers = WorkerProc.wait_for_ready(unready_workers)',
    '                   ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^',
    `  File "${SITE}/vllm/v1/executor/multiproc_executor.py", line 509, in wait_for_ready`,
    '    raise e from None',
  ];
}

/** The root-cause exception lines of each mode (what the diagnosis keys on). */
function rootCause(mode, cfg) {
  const mem = cfg.gpu;
  switch (mode) {
    case 'kv-cache': {
      const est = cfg.kvTokens < cfg.maxModelLen ? cfg.kvTokens : Math.floor((cfg.maxModelLen * 0.6) / 16) * 16;
      const needed = (cfg.maxModelLen * mem.bytesPerToken) / GiB;
      const avail = (est * mem.bytesPerToken) / GiB;
      return [
        `ValueError: To serve at least one request with the models's max seq len (${cfg.maxModelLen}), (${needed.toFixed(2)} GiB KV cache is needed, which is larger than the available KV cache memory (${avail.toFixed(2)} GiB). Based on the available memory, the estimated maximum model length is ${est}. Try increasing \`gpu_memory_utilization\` or decreasing \`max_model_len\` when initializing the engine. See https://docs.vllm.ai/en/latest/configuration/conserving_memory/ for more details.`,
      ];
    }
    case 'no-cache-blocks':
      return [
        'ValueError: No available memory for the cache blocks. Try increasing `gpu_memory_utilization` when initializing the engine. See https://docs.vllm.ai/en/latest/configuration/conserving_memory/ for more details.',
      ];
    case 'free-memory': {
      const desired = cfg.util * mem.totalGiB;
      const free = mem.freeGiB < desired ? mem.freeGiB : desired * 0.55;
      return [
        `ValueError: Free memory on device cuda:0 (${round2(free)}/${round2(mem.totalGiB)} GiB) on startup is less than desired GPU memory utilization (${pyFloat(cfg.util)}, ${round2(desired)} GiB). Decrease GPU memory utilization or reduce GPU memory used by other processes.`,
      ];
    }
    case 'cuda-oom': {
      const used = cfg.util * mem.totalGiB;
      return [
        `torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 1.16 GiB. GPU 0 has a total capacity of ${mem.totalGiB.toFixed(2)} GiB of which ${(mem.totalGiB - used).toFixed(2)} GiB is free. Including non-PyTorch memory, this process has ${used.toFixed(2)} GiB memory in use. Of the allocated memory ${(used - 0.71).toFixed(2)} GiB is allocated by PyTorch, with 318.00 MiB allocated in private pools (e.g., CUDA Graphs), and 98.42 MiB is reserved by PyTorch but unallocated. If reserved but unallocated memory is large try setting PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True to avoid fragmentation.  See documentation for Memory Management  (https://pytorch.org/docs/stable/notes/cuda.html#environment-variables)`,
        '',
        'The above exception was the direct cause of the following exception:',
        '',
        'Traceback (most recent call last):',
        `  File "${SITE}/vllm/v1/worker/gpu_model_runner.py", line 3416, in _dummy_sampler_run`,
        '    raise RuntimeError(',
        `RuntimeError: CUDA out of memory occurred when warming up sampler with ${cfg.maxNumSeqs} dummy requests. Please try lowering \`max_num_seqs\` or \`gpu_memory_utilization\` when initializing the engine.`,
      ];
    }
    case 'tp-gpu-count':
      return [
        `RuntimeError: please set tensor_parallel_size (${cfg.tp}) to less than max local gpu count (${Math.max(0, mem.count)})`,
      ];
    case 'shm':
      return [
        'Exception: WorkerProc initialization failed due to an exception in a background process. See stack trace for root cause.',
      ];
    default:
      return [`RuntimeError: unknown stand-in failure mode ${mode}`];
  }
}

function configCause(mode, cfg) {
  switch (mode) {
    case 'no-device':
      return [
        `  File "${SITE}/vllm/engine/arg_utils.py", line 1214, in create_engine_config`,
        '    device_config = DeviceConfig(device=cast(Device, current_platform.device_type))',
        '                    ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^',
        ...PYDANTIC_FRAME,
        `  File "${SITE}/vllm/config/device.py", line 58, in __post_init__`,
        '    raise RuntimeError(',
        'RuntimeError: Failed to infer device type, please set the environment variable `VLLM_LOGGING_LEVEL=DEBUG` to turn on verbose logging to help debug the issue.',
      ];
    case 'gated': {
      const url = `https://huggingface.co/${cfg.model}/resolve/main/config.json`;
      return {
        inner: [
          `  File "${SITE}/huggingface_hub/utils/_http.py", line 409, in hf_raise_for_status`,
          '    response.raise_for_status()',
          `  File "${SITE}/requests/models.py", line 1026, in raise_for_status`,
          '    raise HTTPError(http_error_msg, response=self)',
          `requests.exceptions.HTTPError: 401 Client Error: Unauthorized for url: ${url}`,
        ],
        frames: [
          `  File "${SITE}/vllm/transformers_utils/config.py", line 614, in get_config`,
          '    config_dict, config = config_parser.parse(',
          `  File "${SITE}/huggingface_hub/file_download.py", line 1010, in hf_hub_download`,
          '    return _hf_hub_download_to_cache_dir(',
          `  File "${SITE}/huggingface_hub/utils/_http.py", line 426, in hf_raise_for_status`,
          '    raise _format(GatedRepoError, message, response) from e',
          'huggingface_hub.errors.GatedRepoError: 401 Client Error. (Request ID: Root=1-6745f0c2-1b9d3a0f4c5e6d7a8b9c0d1e;4f3c2a1b-9e8d-4c7b-a6f5-0e1d2c3b4a59)',
          '',
          `Cannot access gated repo for url ${url}.`,
          `Access to model ${cfg.model} is restricted. You must have access to it and be authenticated to access it. Please log in.`,
        ],
      };
    }
    case 'invalid-repo':
      return [
        ...PYDANTIC_FRAME,
        ...pydanticError(
          'ModelConfig',
          `Invalid repository ID or local directory specified: ${pyStr(cfg.model)}.\nPlease verify the following requirements:\n1. Provide a valid Hugging Face repository ID.\n2. Specify a local directory that contains a recognized configuration file.\n   - For Hugging Face models: ensure the presence of a 'config.json'.\n   - For Mistral models: ensure the presence of a 'params.json'.\n3. For GGUF: pass the local path of the GGUF checkpoint.\n   Loading GGUF from a remote repo directly is not yet supported.\n`,
          cfg,
        ),
      ];
    case 'unsupported-arch':
      return [
        ...PYDANTIC_FRAME,
        ...pydanticError(
          'ModelConfig',
          "Model architectures ['NewModelForCausalLM'] are not supported for now. Supported architectures: dict_keys(['ApertusForCausalLM', 'AquilaModel', 'AquilaForCausalLM', 'ArceeForCausalLM', 'ArcticForCausalLM', 'BaiChuanForCausalLM', 'BaichuanForCausalLM', 'BailingMoeForCausalLM', 'BambaForCausalLM', 'BloomForCausalLM', 'ChatGLMModel', 'CohereForCausalLM', 'Cohere2ForCausalLM', 'DbrxForCausalLM', 'DeepseekForCausalLM', 'DeepseekV2ForCausalLM', 'DeepseekV3ForCausalLM', 'Ernie4_5ForCausalLM', 'ExaoneForCausalLM', 'FalconForCausalLM', 'GemmaForCausalLM', 'Gemma2ForCausalLM', 'Gemma3ForCausalLM', 'GlmForCausalLM', 'Glm4ForCausalLM', 'Glm4MoeForCausalLM', 'GPT2LMHeadModel', 'GPTBigCodeForCausalLM', 'GptOssForCausalLM', 'GraniteForCausalLM', 'GraniteMoeForCausalLM', 'InternLM2ForCausalLM', 'JambaForCausalLM', 'LlamaForCausalLM', 'MistralForCausalLM', 'MixtralForCausalLM', 'OlmoForCausalLM', 'Olmo2ForCausalLM', 'PhiForCausalLM', 'Phi3ForCausalLM', 'Qwen2ForCausalLM', 'Qwen2MoeForCausalLM', 'Qwen3ForCausalLM', 'Qwen3MoeForCausalLM', 'StableLmForCausalLM', 'Starcoder2ForCausalLM', ...])",
          cfg,
        ),
      ];
    case 'remote-code':
      return {
        inner: [
          `  File "${SITE}/transformers/dynamic_module_utils.py", line 721, in resolve_trust_remote_code`,
          '    raise ValueError(',
          `ValueError: Loading ${cfg.model} requires you to execute the configuration file in that repo on your local machine. Make sure you have read the code there to avoid malicious use, then set the option \`trust_remote_code=True\` to remove this error.`,
        ],
        frames: [
          `  File "${SITE}/vllm/transformers_utils/config.py", line 651, in get_config`,
          '    raise RuntimeError(err_msg) from e',
          'RuntimeError: Failed to load the model config. If the model is a custom model not yet available in the HuggingFace transformers library, consider setting `trust_remote_code=True` in LLM or using the `--trust-remote-code` flag in the CLI.',
        ],
      };
    case 'max-model-len':
      return [
        ...PYDANTIC_FRAME,
        ...pydanticError(
          'ModelConfig',
          `User-specified max_model_len (${cfg.requestedMaxLen ?? cfg.derivedMaxLen * 2}) is greater than the derived max_model_len (max_position_embeddings=${cfg.derivedMaxLen} or model_max_length=None in model's config.json). To allow overriding this maximum, set the env var VLLM_ALLOW_LONG_MAX_MODEL_LEN=1. VLLM_ALLOW_LONG_MAX_MODEL_LEN must be used with extreme caution. If the model uses relative position encoding (RoPE), positions exceeding derived_max_model_len lead to nan. If the model uses absolute position encoding, positions exceeding derived_max_model_len will cause a CUDA array out-of-bounds error.`,
          cfg,
        ),
      ];
    case 'tp-divisible': {
      const tp = cfg.gpu.heads % cfg.tp !== 0 ? cfg.tp : 3;
      return [
        `  File "${SITE}/vllm/engine/arg_utils.py", line 1559, in create_engine_config`,
        '    config = VllmConfig(',
        '             ^^^^^^^^^^^',
        ...PYDANTIC_FRAME,
        `pydantic_core._pydantic_core.ValidationError: 1 validation error for VllmConfig`,
        `  Value error, Total number of attention heads (${cfg.gpu.heads}) must be divisible by tensor parallel size (${tp}). [type=value_error, input_value=ArgsKwargs((), {'model_co...additional_config': {}}), input_type=ArgsKwargs]`,
        '    For further information visit https://errors.pydantic.dev/2.12/v/value_error',
      ];
    }
    default:
      return [];
  }
}

/**
 * Everything vLLM prints when startup fails in `mode`: [stream, text] pairs and the exit code.
 * @param {string} mode a FAILURE_MODES key of stage config or engine
 * @param {ReturnType<typeof resolveConfig>} cfg
 * @param {{ style: 'serve'|'legacy', pid: number, enginePid: number, now: Date }} ctx
 * @returns {{ out: Array<['stdout'|'stderr', string]>, exitCode: number }}
 */
export function failureOutput(mode, cfg, ctx) {
  const api = `(APIServer pid=${ctx.pid})`;
  const eng = `(EngineCore_DP0 pid=${ctx.enginePid})`;
  const info = FAILURE_MODES[mode];
  if (!info) throw new Error(`unknown STANDIN_FAIL mode: ${mode}`);
  /** @type {Array<['stdout'|'stderr', string]>} */
  const out = [];
  if (info.stage === 'config') {
    const cause = configCause(mode, cfg);
    const { inner, frames } = Array.isArray(cause) ? { inner: undefined, frames: cause } : cause;
    const lines = [];
    if (inner) lines.push('Traceback (most recent call last):', ...inner, '', 'The above exception was the direct cause of the following exception:', '');
    // no-device and tp-divisible fail in create_engine_config before the model config is built.
    const through = mode === 'no-device' || mode === 'tp-divisible' ? CONFIG_FRAMES.slice(0, 3) : CONFIG_FRAMES;
    lines.push(...apiServerFrames(ctx.style), ...through, ...frames);
    out.push(['stderr', tagLines(api, lines.join('\n'))]);
    return { out, exitCode: 1 };
  }
  // Engine core failures: the engine logs the error, its process dies with a traceback, then the
  // API server raises the wrapper vLLM users learn to skip.
  let workerPart = [];
  if (mode === 'shm') {
    const wk = `(Worker_TP0 pid=${ctx.enginePid + 134})`;
    const nccl = [
      'WorkerProc failed to start.',
      'Traceback (most recent call last):',
      `  File "${SITE}/vllm/v1/executor/multiproc_executor.py", line 571, in worker_main`,
      '    worker = WorkerProc(*args, **kwargs)',
      `  File "${SITE}/vllm/v1/executor/multiproc_executor.py", line 437, in __init__`,
      '    self.worker.init_device()',
      `  File "${SITE}/vllm/distributed/device_communicators/pynccl.py", line 99, in __init__`,
      '    self.comm: ncclComm_t = self.nccl.ncclCommInitRank(',
      `  File "${SITE}/vllm/distributed/device_communicators/pynccl_wrapper.py", line 297, in NCCL_CHECK`,
      '    raise RuntimeError(f"NCCL error: {error_str}")',
      'torch.distributed.DistBackendError: NCCL error in: /pytorch/torch/csrc/distributed/c10d/NCCLUtils.cpp:94, unhandled system error (run with NCCL_DEBUG=INFO for details), NCCL version 2.27.3',
      'ncclSystemError: System call (e.g. socket, malloc) or external library call failed or device error. ',
      'Last error:',
      'Error while creating shared memory segment /dev/shm/nccl-vzIpS6 (size 9637888), error: No space left on device (28)',
    ];
    workerPart = [['stderr', logLine(wk, 'ERROR', 'multiproc_executor.py:597', nccl.join('\n'), ctx.now)]];
  }
  const cause = rootCause(mode, cfg);
  const frames = [...ENGINE_CORE_FRAMES, ...engineFrames(mode)];
  out.push(...workerPart);
  out.push(['stderr', logLine(eng, 'ERROR', 'core.py:842', ['EngineCore failed to start.', ...frames, ...cause].join('\n'), ctx.now)]);
  out.push([
    'stderr',
    tagLines(
      eng,
      [
        'Process EngineCore_DP0:',
        'Traceback (most recent call last):',
        '  File "/usr/lib/python3.12/multiprocessing/process.py", line 314, in _bootstrap',
        '    self.run()',
        '  File "/usr/lib/python3.12/multiprocessing/process.py", line 108, in run',
        '    self._target(*self._args, **self._kwargs)',
        `  File "${SITE}/vllm/v1/engine/core.py", line 846, in run_engine_core`,
        '    raise e',
        ...frames.slice(1),
        ...cause,
      ].join('\n'),
    ),
  ]);
  out.push([
    'stderr',
    tagLines(
      api,
      [
        ...apiServerFrames(ctx.style),
        `  File "${SITE}/vllm/entrypoints/openai/api_server.py", line 221, in build_async_engine_client_from_engine_args`,
        '    async_llm = AsyncLLM.from_vllm_config(',
        '                ^^^^^^^^^^^^^^^^^^^^^^^^^^',
        `  File "${SITE}/vllm/v1/engine/async_llm.py", line 134, in __init__`,
        '    self.engine_core = EngineCoreClient.make_async_mp_client(',
        '                       ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^',
        `  File "${SITE}/vllm/v1/engine/core_client.py", line 837, in __init__`,
        '    super().__init__(',
        `  File "${SITE}/vllm/v1/engine/core_client.py", line 476, in __init__`,
        '    with launch_core_engines(vllm_config, executor_class, log_stats) as (',
        '  File "/usr/lib/python3.12/contextlib.py", line 144, in __exit__',
        '    next(self.gen)',
        `  File "${SITE}/vllm/v1/engine/utils.py", line 903, in launch_core_engines`,
        '    wait_for_engine_startup(',
        `  File "${SITE}/vllm/v1/engine/utils.py", line 960, in wait_for_engine_startup`,
        '    raise RuntimeError(',
        'RuntimeError: Engine core initialization failed. See root cause above. Failed core proc(s): {}',
      ].join('\n'),
    ),
  ]);
  return { out, exitCode: 1 };
}

/** What vLLM prints when its engine dies while serving (crash-after-ready). */
export function engineDeathOutput(ctx) {
  const api = `(APIServer pid=${ctx.pid})`;
  const eng = `(EngineCore_DP0 pid=${ctx.enginePid})`;
  return [
    [
      'stderr',
      logLine(
        eng,
        'ERROR',
        'core.py:868',
        [
          'EngineCore encountered a fatal error.',
          'Traceback (most recent call last):',
          `  File "${SITE}/vllm/v1/engine/core.py", line 859, in run_engine_core`,
          '    engine_core.run_busy_loop()',
          `  File "${SITE}/vllm/v1/engine/core.py", line 886, in run_busy_loop`,
          '    self._process_engine_step()',
          `  File "${SITE}/vllm/v1/engine/core.py", line 918, in _process_engine_step`,
          '    outputs, model_executed = self.step_fn()',
          `  File "${SITE}/vllm/v1/worker/gpu_model_runner.py", line 2481, in execute_model`,
          '    valid_sampled_token_ids = sampled_token_ids.tolist()',
          'torch.AcceleratorError: CUDA error: an illegal memory access was encountered',
          'CUDA kernel errors might be asynchronously reported at some other API call, so the stacktrace below might be incorrect.',
          'For debugging consider passing CUDA_LAUNCH_BLOCKING=1',
          'Compile with `TORCH_USE_CUDA_DSA` to enable device-side assertions.',
        ].join('\n'),
        ctx.now,
      ),
    ],
    [
      'stderr',
      logLine(
        api,
        'ERROR',
        'async_llm.py:525',
        [
          'AsyncLLM output_handler failed.',
          'Traceback (most recent call last):',
          `  File "${SITE}/vllm/v1/engine/async_llm.py", line 477, in output_handler`,
          '    outputs = await engine_core.get_output_async()',
          `  File "${SITE}/vllm/v1/engine/core_client.py", line 883, in get_output_async`,
          '    raise self._format_exception(outputs) from None',
          'vllm.v1.engine.exceptions.EngineDeadError: EngineCore encountered an issue. See stack trace (above) for the root cause.',
        ].join('\n'),
        ctx.now,
      ),
    ],
  ];
}

// ---------------------------------------------------------------------------------------------
// Completions. Deterministic: the answer names the served model and echoes the last user message,
// so a test can tell which backend answered and what it was asked.

/** Tokens as the stand-in counts them: words and single punctuation marks, with leading spaces. */
export function tokenize(text) {
  return String(text).match(/\s*[\p{L}\p{N}_]+|\s*[^\s\p{L}\p{N}_]|\s+$/gu) ?? [];
}

function contentText(content) {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((p) => (p && typeof p === 'object' && typeof p.text === 'string' ? p.text : ''))
      .join('');
  }
  return '';
}

/** vLLM's KV cache block size (tokens), the unit its prefix cache reuses. */
export const BLOCK_TOKENS = 16;

/**
 * vLLM's automatic prefix caching, imitated: the prompt's tokens in blocks of {@link BLOCK_TOKENS},
 * each named by a hash chained over the blocks before it (so a block is reused only after the
 * same prefix), full blocks only, at most `capacityBlocks` kept (the least recently used go
 * first).
 */
export function newPrefixCache(capacityBlocks) {
  return { capacity: Math.max(1, Math.floor(capacityBlocks)), blocks: new Map() };
}

/** The tokens whose blocks a prompt is made of: each message's role, then its content. */
export function promptTokenList(kind, body) {
  if (kind === 'chat') return (Array.isArray(body?.messages) ? body.messages : []).flatMap((m) => [`<|${m?.role}|>`, ...tokenize(contentText(m?.content))]);
  const prompt = body?.prompt;
  return tokenize(Array.isArray(prompt) ? prompt.map((p) => (typeof p === 'string' ? p : '')).join('\n') : typeof prompt === 'string' ? prompt : '');
}

/**
 * Look a prompt up in the prefix cache and keep its full blocks there. Returns how many of its
 * leading tokens were cached (the prefill vLLM skips).
 */
export function usePrefixCache(cache, tokens) {
  let hash = '';
  let hit = 0;
  let missed = false;
  for (let end = BLOCK_TOKENS; end <= tokens.length; end += BLOCK_TOKENS) {
    hash = createHash('sha256').update(hash).update(JSON.stringify(tokens.slice(end - BLOCK_TOKENS, end))).digest('hex');
    if (!missed && cache.blocks.has(hash)) hit = end;
    else missed = true;
    cache.blocks.delete(hash);
    cache.blocks.set(hash, true);
    while (cache.blocks.size > cache.capacity) cache.blocks.delete(cache.blocks.keys().next().value);
  }
  return hit;
}

/** Prompt tokens of a chat request (content tokens plus a chat-template overhead per message). */
export function chatPromptTokens(messages) {
  let n = 3;
  for (const m of messages) n += 4 + tokenize(contentText(m?.content)).length;
  return n;
}

/** The answer text of the stand-in. */
export function answerFor(servedName, lastUser) {
  const said = lastUser.trim();
  return said ? `Hello from ${servedName}! You said: ${said}` : `Hello from ${servedName}!`;
}

export function openaiError(status, type, message) {
  return { status, body: { error: { message, type, param: null, code: status } } };
}

/**
 * Validate and plan a chat or text completion: which served name answers, the output tokens, the
 * finish reason and usage, or the error vLLM would send.
 * @param {'chat'|'completion'} kind
 * @param {any} body parsed JSON body
 * @param {{ served: string[], maxModelLen: number, autoToolChoice: boolean, toolCallParser?: string }} cfg
 */
export function planCompletion(kind, body, cfg) {
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    return { error: openaiError(400, 'BadRequestError', 'Expected a JSON object as the request body') };
  }
  const name = body.model ?? cfg.served[0];
  if (!cfg.served.includes(name)) {
    return { error: openaiError(404, 'NotFoundError', `The model \`${name}\` does not exist.`) };
  }
  let promptTokens;
  let lastUser = '';
  if (kind === 'chat') {
    if (!Array.isArray(body.messages)) {
      return {
        error: openaiError(400, 'BadRequestError', `1 validation error for ChatCompletionRequest\nmessages\n  Field required [type=missing, input_value=${pyRepr(body)}, input_type=dict]`),
      };
    }
    const tools = Array.isArray(body.tools) && body.tools.length > 0;
    const choice = body.tool_choice ?? (tools ? 'auto' : 'none');
    if (tools && choice === 'auto' && !(cfg.autoToolChoice && cfg.toolCallParser)) {
      return {
        error: openaiError(400, 'BadRequestError', '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set'),
      };
    }
    promptTokens = chatPromptTokens(body.messages);
    const users = body.messages.filter((m) => m && m.role === 'user');
    lastUser = users.length ? contentText(users[users.length - 1].content) : '';
  } else {
    const prompt = body.prompt;
    const text = Array.isArray(prompt) ? prompt.map((p) => (typeof p === 'string' ? p : '')).join('\n') : typeof prompt === 'string' ? prompt : undefined;
    if (text === undefined) {
      return { error: openaiError(400, 'BadRequestError', 'Either prompt or prompt_embeds must be provided and non-empty.') };
    }
    promptTokens = Math.max(1, tokenize(text).length) + 1;
    lastUser = text;
  }
  const maxTokens = body.max_completion_tokens ?? body.max_tokens;
  if (promptTokens > cfg.maxModelLen) {
    return {
      error: openaiError(400, 'BadRequestError', `This model's maximum context length is ${cfg.maxModelLen} tokens. However, your request has ${promptTokens} input tokens. Please reduce the length of the input messages.`),
    };
  }
  if (typeof maxTokens === 'number' && maxTokens > cfg.maxModelLen - promptTokens) {
    return {
      error: openaiError(400, 'BadRequestError', `'max_tokens' or 'max_completion_tokens' is too large: ${maxTokens}. This model's maximum context length is ${cfg.maxModelLen} tokens and your request has ${promptTokens} input tokens (${maxTokens} > ${cfg.maxModelLen} - ${promptTokens}).`),
    };
  }
  let pieces = tokenize(answerFor(name, lastUser));
  let finishReason = 'stop';
  const limit = typeof maxTokens === 'number' ? maxTokens : cfg.maxModelLen - promptTokens;
  // vLLM's sampling extras: `ignore_eos` generates until the limit (finish_reason "length"),
  // `min_tokens` suppresses the end before that many tokens. The stand-in continues its answer
  // with a filler, so a test can ask for one long request among short ones.
  const minTokens = body.ignore_eos === true ? limit : Number.isInteger(body.min_tokens) ? Math.min(body.min_tokens, limit) : 0;
  if (pieces.length < minTokens) pieces = padTokens(pieces, minTokens);
  if (pieces.length > limit) {
    pieces = pieces.slice(0, Math.max(0, limit));
    finishReason = 'length';
  } else if (body.ignore_eos === true) finishReason = 'length';
  const n = Number.isInteger(body.n) && body.n > 0 ? body.n : 1;
  return {
    name,
    pieces,
    finishReason,
    n,
    promptTokens,
    completionTokens: pieces.length * n,
    stream: body.stream === true,
    includeUsage: body.stream_options?.include_usage === true,
  };
}

const FILLER = tokenize(' And so on.');

/** `pieces` continued with a filler sentence up to `n` tokens. */
export function padTokens(pieces, n) {
  const out = [...pieces];
  for (let i = 0; out.length < n; i++) out.push(FILLER[i % FILLER.length]);
  return out;
}

/**
 * What a model whose weights were discarded (sleep level 2) and never reloaded writes: its weight
 * memory is remapped but holds no model, so the sampled tokens are noise. The stand-in answers with
 * `!` tokens (what an all-zero Qwen model emits), the same count as the real answer.
 */
export function garbled(plan) {
  return { ...plan, pieces: plan.pieces.map(() => '!') };
}

/** A stable fake token id (Qwen3's vocabulary size) for a token's text. */
export function tokenId(piece) {
  let h = 2166136261;
  for (const ch of piece) h = Math.imul(h ^ ch.codePointAt(0), 16777619) >>> 0;
  return h % 151643;
}

/**
 * `POST /tokenize`: vLLM's TokenizeResponse for a `prompt` or `messages` body (the chat template's
 * tokens count as in completions, with fixed ids), or the error vLLM would send.
 */
export function tokenizeBody(body, cfg) {
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    return { error: openaiError(400, 'BadRequestError', 'Expected a JSON object as the request body') };
  }
  if (body.model !== undefined && !cfg.served.includes(body.model)) {
    return { error: openaiError(404, 'NotFoundError', `The model \`${body.model}\` does not exist.`) };
  }
  let tokens;
  if (Array.isArray(body.messages)) {
    const content = tokenize(body.messages.map((m) => contentText(m?.content)).join(''));
    const overhead = chatPromptTokens(body.messages) - content.length;
    tokens = [...Array.from({ length: overhead }, (_, i) => 151644 + (i % 8)), ...content.map(tokenId)];
  } else if (typeof body.prompt === 'string') {
    tokens = tokenize(body.prompt).map(tokenId);
  } else {
    return { error: openaiError(400, 'BadRequestError', '1 validation error: either prompt or messages is required') };
  }
  return { body: { count: tokens.length, max_model_len: cfg.maxModelLen, tokens, token_strs: null } };
}

/** The non-streaming response body. */
export function completionBody(kind, plan, { id, created }) {
  const text = plan.pieces.join('');
  const usage = {
    prompt_tokens: plan.promptTokens,
    total_tokens: plan.promptTokens + plan.completionTokens,
    completion_tokens: plan.completionTokens,
    prompt_tokens_details: null,
  };
  const choices = Array.from({ length: plan.n }, (_, index) =>
    kind === 'chat'
      ? {
          index,
          message: { role: 'assistant', content: text, refusal: null, annotations: null, audio: null, function_call: null, tool_calls: [], reasoning_content: null },
          logprobs: null,
          finish_reason: plan.finishReason,
          stop_reason: null,
          token_ids: null,
        }
      : { index, text, logprobs: null, finish_reason: plan.finishReason, stop_reason: null, token_ids: null, prompt_logprobs: null, prompt_token_ids: null },
  );
  return kind === 'chat'
    ? { id, object: 'chat.completion', created, model: plan.name, choices, service_tier: null, system_fingerprint: null, usage, prompt_logprobs: null, prompt_token_ids: null, kv_transfer_params: null }
    : { id, object: 'text_completion', created, model: plan.name, choices, service_tier: null, system_fingerprint: null, usage, kv_transfer_params: null };
}

/** One SSE chunk body of a streaming response. */
export function chunkBody(kind, plan, { id, created }, index, delta, finishReason = null) {
  const choice =
    kind === 'chat'
      ? { index, delta, logprobs: null, finish_reason: finishReason, ...(finishReason ? { stop_reason: null } : {}) }
      : { index, text: delta.content ?? '', logprobs: null, finish_reason: finishReason, stop_reason: null };
  return { id, object: kind === 'chat' ? 'chat.completion.chunk' : 'text_completion', created, model: plan.name, choices: [choice] };
}

export function modelsBody(cfg, created, permId) {
  return {
    object: 'list',
    data: cfg.served.map((id) => ({
      id,
      object: 'model',
      created,
      owned_by: 'vllm',
      root: cfg.model,
      parent: null,
      max_model_len: cfg.maxModelLen,
      permission: [
        {
          id: `modelperm-${permId}`,
          object: 'model_permission',
          created,
          allow_create_engine: false,
          allow_sampling: true,
          allow_logprobs: true,
          allow_search_indices: false,
          allow_view: true,
          allow_fine_tuning: false,
          organization: '*',
          group: null,
          is_blocking: false,
        },
      ],
    })),
  };
}

// ---------------------------------------------------------------------------------------------
// Metrics: vLLM's v1 names, HELP texts, buckets and labels, rendered like prometheus_client does.

export const BUCKETS = {
  ttft: [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0],
  itl: [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0],
  e2e: [0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0],
};

export function newHistogram(bounds) {
  return { bounds, counts: bounds.map(() => 0), inf: 0, sum: 0 };
}

export function observe(h, v) {
  h.inf++;
  h.sum += v;
  for (let i = 0; i < h.bounds.length; i++) if (v <= h.bounds[i]) h.counts[i]++;
}

export function newMetrics(createdSeconds) {
  return {
    created: createdSeconds,
    running: 0,
    waiting: 0,
    sleeping: false,
    sleepLevel: 0,
    kvUsage: 0,
    prefixQueries: 0,
    prefixHits: 0,
    promptTokens: 0,
    generationTokens: 0,
    preemptions: 0,
    success: { stop: 0, length: 0, abort: 0 },
    ttft: newHistogram(BUCKETS.ttft),
    itl: newHistogram(BUCKETS.itl),
    e2e: newHistogram(BUCKETS.e2e),
  };
}

function labels(obj) {
  const keys = Object.keys(obj).sort();
  return `{${keys.map((k) => `${k}="${String(obj[k]).replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n')}"`).join(',')}}`;
}

/** prometheus_client's float formatting (floatToGoString). */
export function promFloat(v) {
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  if (Number.isNaN(v)) return 'NaN';
  return pyFloat(v);
}

/**
 * The /metrics text.
 * @param {ReturnType<typeof newMetrics>} m
 * @param {{ modelName: string, oldNames?: boolean, cacheInfo?: Record<string, string> }} opts
 */
export function renderMetrics(m, opts) {
  const base = { engine: '0', model_name: opts.modelName };
  const out = [];
  const family = (name, type, help, samples) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [suffix, lbl, v] of samples) out.push(`${name}${suffix}${labels(lbl)} ${promFloat(v)}`);
  };
  const gauge = (name, help, v) => family(name, 'gauge', help, [['', base, v]]);
  const counter = (name, help, series) => {
    family(`${name}_total`, 'counter', help, series.map(([lbl, v]) => ['', lbl, v]));
    family(`${name}_created`, 'gauge', help, series.map(([lbl]) => ['', lbl, m.created]));
  };
  const histogram = (name, help, h) => {
    const samples = h.bounds.map((b, i) => ['_bucket', { ...base, le: promFloat(b) }, h.counts[i]]);
    samples.push(['_bucket', { ...base, le: '+Inf' }, h.inf], ['_count', base, h.inf], ['_sum', base, h.sum]);
    family(name, 'histogram', help, samples);
    family(`${name}_created`, 'gauge', help, [['', base, m.created]]);
  };
  gauge('vllm:num_requests_running', 'Number of requests in model execution batches.', m.running);
  gauge('vllm:num_requests_waiting', 'Number of requests waiting to be processed.', m.waiting);
  const sleep = sleepStateSeries(m.sleeping === true, m.sleepLevel ?? 0);
  family(
    'vllm:engine_sleep_state',
    'gauge',
    'Engine sleep state; awake = 0 means engine is sleeping; awake = 1 means engine is awake; weights_offloaded = 1 means sleep level 1; discard_all = 1 means sleep level 2.',
    Object.entries(sleep).map(([state, v]) => ['', { ...base, sleep_state: state }, v]),
  );
  if (opts.oldNames) gauge('vllm:gpu_cache_usage_perc', 'GPU KV-cache usage. 1 means 100 percent usage.', m.kvUsage);
  gauge('vllm:kv_cache_usage_perc', 'KV-cache usage. 1 means 100 percent usage.', m.kvUsage);
  counter('vllm:num_preemptions', 'Cumulative number of preemption from the engine.', [[base, m.preemptions]]);
  counter('vllm:prefix_cache_queries', 'Prefix cache queries, in terms of number of queried tokens.', [[base, m.prefixQueries]]);
  counter('vllm:prefix_cache_hits', 'Prefix cache hits, in terms of number of cached tokens.', [[base, m.prefixHits]]);
  counter('vllm:prompt_tokens', 'Number of prefill tokens processed.', [[base, m.promptTokens]]);
  counter('vllm:generation_tokens', 'Number of generation tokens processed.', [[base, m.generationTokens]]);
  counter(
    'vllm:request_success',
    'Count of successfully processed requests.',
    Object.entries(m.success).map(([reason, v]) => [{ ...base, finished_reason: reason }, v]),
  );
  histogram('vllm:time_to_first_token_seconds', 'Histogram of time to first token in seconds.', m.ttft);
  histogram('vllm:inter_token_latency_seconds', 'Histogram of inter-token latency in seconds.', m.itl);
  if (opts.oldNames) histogram('vllm:time_per_output_token_seconds', 'Histogram of time per output token in seconds.DEPRECATED: Use vllm:inter_token_latency_seconds instead.', m.itl);
  histogram('vllm:e2e_request_latency_seconds', 'Histogram of e2e request latency in seconds.', m.e2e);
  if (opts.cacheInfo) family('vllm:cache_config_info', 'gauge', 'Information of the LLMEngine CacheConfig', [['', { ...opts.cacheInfo, engine: '0' }, 1]]);
  return `${out.join('\n')}\n`;
}
