/**
 * Why did a vLLM container die while starting? Pure and table-driven: the tail of its log (and
 * optionally its exit code and spec) in, one classified cause with concrete advice out. The
 * patterns are vLLM's, Hugging Face's, PyTorch's and argparse's own messages, in the wordings of
 * vLLM 0.5 to 0.12+.
 *
 * Long on purpose: almost all of it is the one `RULES` table, in precedence order. Its order is
 * the logic (the first matching rule wins), so it stays in one place where it reads top to bottom.
 */
import type { ModelSpec } from '@inferstack/config';
import { DEFAULT_GPU_MEMORY_UTILIZATION } from '@inferstack/config';
import { maxFittingUtilization } from './gpu.js';

/** Every cause {@link diagnoseStartupFailure} can report, in precedence order. */
export const DIAGNOSIS_CAUSES = [
  'bad-flag',
  'hf-auth',
  'hf-unreachable',
  'invalid-model',
  'trust-remote-code',
  'unsupported-architecture',
  'max-model-len-too-large',
  'tp-not-divisible',
  'tp-exceeds-gpus',
  'cuda-driver',
  'no-gpu',
  'dtype-unsupported',
  'gpu-memory-in-use',
  'kv-cache-too-small',
  'no-cache-blocks',
  'cuda-oom',
  'shm',
  'disk-full',
  'port-in-use',
  'invalid-config',
  'killed',
] as const;

/** What went wrong. */
export type DiagnosisCause = (typeof DIAGNOSIS_CAUSES)[number];

/** A classified startup failure. */
export interface Diagnosis {
  cause: DiagnosisCause;
  /** One line: what happened, with the numbers from the log. */
  summary: string;
  /** What to do, most direct first, naming the models.yaml keys to set. */
  advice: string[];
  /** The log line that shows it (trimmed, shortened). */
  evidence: string;
  /** A models.yaml setting that should fix it, when one can be computed. */
  suggestion?: { key: string; value: string | number };
}

/** The parts of a model spec the advice uses (a `ModelSpec` fits; only `key` is required). */
export type DiagnosisSpec = Pick<ModelSpec, 'key'> &
  Partial<Pick<ModelSpec, 'gpuMemoryUtilization' | 'tensorParallelSize' | 'gpus'>>;

/** Extra facts about the failed container. */
export interface DiagnosisContext {
  /** The container's exit code (argparse exits with 2; 137 is SIGKILL). */
  exitCode?: number;
  spec?: DiagnosisSpec;
}

/** How many lines from the end of the log are read. */
export const DIAGNOSE_TAIL_LINES = 300;

const EVIDENCE_MAX = 500;

interface Scan {
  lines: string[];
  /** Index of the matched line in `lines`. */
  at: number;
  ctx: DiagnosisContext;
}

type Found = Omit<Diagnosis, 'cause' | 'evidence'>;

interface Rule {
  cause: DiagnosisCause;
  pattern: RegExp;
  /** Extra condition on the whole tail. */
  when?: (lines: string[], ctx: DiagnosisContext) => boolean;
  build: (m: RegExpExecArray, scan: Scan) => Found;
}

/** `` `qwen-4b` `` or `this model`, for advice texts. */
const who = (ctx: DiagnosisContext): string => (ctx.spec ? `\`${ctx.spec.key}\`` : 'this model');

const utilNow = (ctx: DiagnosisContext): string =>
  ctx.spec?.gpuMemoryUtilization === undefined
    ? `default ${DEFAULT_GPU_MEMORY_UTILIZATION}`
    : ctx.spec.gpuMemoryUtilization.toFixed(2);

/** First capture of `re` in any line of the tail. */
function findInTail(lines: string[], re: RegExp): RegExpExecArray | undefined {
  for (const line of lines) {
    const m = re.exec(line);
    if (m) return m;
  }
  return undefined;
}

/** `cuda:1` → `cuda:1 (host GPU 3)` when the spec lists devices. */
function describeDevice(device: string | undefined, ctx: DiagnosisContext): string {
  if (!device) return 'the GPU';
  const n = Number(/(\d+)$/.exec(device)?.[1]);
  const gpus = ctx.spec?.gpus;
  if (gpus?.kind === 'devices') {
    const host = [...gpus.indices].sort((a, b) => a - b)[n];
    if (host !== undefined) return `${device} (host GPU ${host})`;
  }
  if (gpus?.kind === 'all') return `${device} (host GPU ${n})`;
  return device;
}

function divisors(n: number): number[] {
  const out: number[] = [];
  for (let d = 1; d <= n; d++) if (n % d === 0) out.push(d);
  return out;
}

const RULES: Rule[] = [
  // argparse: `usage: ...` then `<prog>: error: ...`, exit code 2. Before everything else: vLLM never started.
  {
    cause: 'bad-flag',
    pattern:
      /: error: (unrecognized arguments: .+|argument .+|ambiguous option: .+|the following arguments are required: .+)$/,
    when: (lines, ctx) => ctx.exitCode === 2 || lines.some((l) => /^usage: /.test(l.trim())),
    build: (m, { ctx }) => {
      const message = (m[1] ?? '').trim();
      const unrecognized = /^unrecognized arguments: (.+)$/.exec(message);
      if (unrecognized?.[1]) {
        const flags = unrecognized[1]
          .split(/\s+/)
          .filter((t) => t.startsWith('-'))
          .map((t) => t.split('=')[0] ?? t);
        const named = flags.length > 0 ? flags : [unrecognized[1]];
        const keys = named.map((f) => `\`${f.replace(/^-+/, '')}\``).join(', ');
        return {
          summary: `This vLLM image version does not know ${named.join(', ')}`,
          advice: [
            `Remove ${keys} from ${who(ctx)} in models.yaml (or from its additional_flags), or use an \`image\` whose vLLM has ${named.length > 1 ? 'them' : 'it'}.`,
          ],
        };
      }
      const argument = /^argument ([^\s:/]+)(?:\/\S+)?: (.+)$/.exec(message);
      if (argument?.[1] && argument[2]) {
        const flag = argument[1];
        const key = flag.replace(/^-+/, '');
        const choice = /invalid choice: '?([^'(]*?)'? \(choose from (.+)\)$/.exec(argument[2]);
        if (choice) {
          const choices = (choice[2] ?? '').replace(/'/g, '');
          return {
            summary: `This vLLM image version does not accept '${choice[1]}' for ${flag}`,
            advice: [`Set \`${key}\` for ${who(ctx)} to one of: ${choices}; or use an \`image\` that accepts '${choice[1]}'.`],
          };
        }
        return {
          summary: `vLLM rejected ${flag}: ${argument[2]}`,
          advice: [`Fix \`${key}\` for ${who(ctx)} in models.yaml (this image version parses it differently or needs a value).`],
        };
      }
      return {
        summary: `vLLM rejected its command line: ${message}`,
        advice: [`Fix the flags of ${who(ctx)} in models.yaml for this image version.`],
      };
    },
  },
  // Hugging Face refuses: gated repo, no/invalid token. Checked before `Invalid repository ID`,
  // which vLLM raises on top of it.
  {
    cause: 'hf-auth',
    pattern: /GatedRepoError|Cannot access gated repo|\b401 Client Error|\b403 Client Error|Access to model \S+ is restricted/,
    build: (_m, { lines, ctx }) => {
      const repo =
        findInTail(lines, /Access to model (\S+?) is restricted/)?.[1] ??
        findInTail(lines, /huggingface\.co\/(?!api\/)([\w.-]+\/[\w.-]+)\/resolve\//)?.[1] ??
        findInTail(lines, /huggingface\.co\/api\/models\/([\w.-]+\/[\w.-]+?)(?:\/revision\/|[/.\s]*$)/)?.[1];
      const forbidden = lines.some((l) => /\b403 Client Error|not in the authorized list|ask for access/.test(l));
      const page = repo ? `https://huggingface.co/${repo}` : 'the model page on huggingface.co';
      return {
        summary: `Hugging Face refused access to ${repo ?? 'the model'} (${forbidden ? '403: this token has no access' : '401: no valid token'})`,
        advice: forbidden
          ? [
              `Accept the licence / request access at ${page} with the account of HF_TOKEN, then retry.`,
              'Check that HF_TOKEN in .env is that account\'s token, with read access.',
            ]
          : [
              'Set HF_TOKEN in .env to a token with read access (https://huggingface.co/settings/tokens).',
              `Accept the model's licence at ${page}.`,
              `If the id is misspelled, fix \`model\` of ${who(ctx)}: Hugging Face answers 401 for repos that do not exist.`,
            ],
      };
    },
  },
  {
    cause: 'hf-unreachable',
    pattern:
      /We couldn't connect to 'https:\/\/huggingface\.co'|LocalEntryNotFoundError|outgoing traffic has been disabled|Failed to resolve '(?:[\w-]+\.)?huggingface\.co'|Max retries exceeded with url: \S*.*huggingface\.co/,
    build: (_m, { lines }) => {
      const offline = lines.some((l) => /outgoing traffic has been disabled|HF_HUB_OFFLINE/.test(l));
      return {
        summary: offline
          ? 'HF_HUB_OFFLINE is set, but the model is not in the Hugging Face cache'
          : 'The model could not be downloaded: huggingface.co was not reachable',
        advice: offline
          ? ['Download the model into the HF cache first (or unset HF_HUB_OFFLINE for one start).']
          : ['Check that the host reaches huggingface.co (DNS, proxy, firewall); or pre-fill the HF cache and set HF_HUB_OFFLINE=1.'],
      };
    },
  },
  {
    cause: 'invalid-model',
    pattern:
      /Invalid repository ID or local directory specified|is not a local folder and is not a valid model identifier|RepositoryNotFoundError|Repository Not Found for url/,
    build: (_m, { lines, ctx }) => {
      const id =
        findInTail(lines, /Invalid repository ID or local directory specified:\s*'([^']*)'/)?.[1] ??
        findInTail(lines, /^\s*(?:OSError: )?(\S+) is not a local folder and is not a valid model identifier/)?.[1];
      return {
        summary: `vLLM found no model at ${id ? `'${id}'` : 'the given id or path'}`,
        advice: [
          `Fix \`model\`${ctx.spec ? ` of ${who(ctx)}` : ''} in models.yaml: a Hugging Face repo id (org/name) or a path inside the container that holds config.json.`,
          'For a local path, mount the whole HF cache, not one snapshots/ folder (its files link into blobs/).',
        ],
      };
    },
  },
  {
    cause: 'trust-remote-code',
    pattern: /contains custom code which must be executed|set the option `?trust_remote_code=True`?|pass the argument `?trust_remote_code=True`?/,
    build: (_m, { ctx }) => ({
      summary: 'The model ships its own Python code, which vLLM runs only when allowed',
      advice: [`If you trust the repo, add \`--trust-remote-code\` to additional_flags of ${who(ctx)}.`],
      suggestion: { key: 'additional_flags', value: '--trust-remote-code' },
    }),
  },
  {
    cause: 'unsupported-architecture',
    pattern:
      /Model architectures? (\[[^\]]*\]|\S+) (?:are|is) not supported for now|are not supported for now\. Supported architectures:|does not recognize this architecture/,
    build: (m, { ctx }) => {
      const arch = m[1]?.replace(/[[\]']/g, '');
      return {
        summary: `This vLLM image does not support the model's architecture${arch ? ` (${arch})` : ''}`,
        advice: [
          `Use a newer vLLM \`image\` for ${who(ctx)}: new architectures arrive in new releases.`,
          'If the model ships its own code, add `--trust-remote-code` to additional_flags.',
        ],
      };
    },
  },
  {
    cause: 'max-model-len-too-large',
    pattern: /User-specified max_model_len \((\d+)\) is greater than the derived max_model_len(?: \(([^)]*)\))?/,
    build: (m, { ctx }) => {
      const asked = Number(m[1]);
      const numbers = [...(m[2] ?? '').matchAll(/=\s*(\d+(?:\.\d+)?)/g)].map((x) => Math.floor(Number(x[1])));
      const derived = numbers.length > 0 ? Math.min(...numbers) : undefined;
      return {
        summary: `max-model-len ${asked} is more than the model supports${derived ? ` (${derived} tokens)` : ''}`,
        advice: [
          derived
            ? `Set \`max-model-len: ${derived}\` (or less) for ${who(ctx)}.`
            : `Lower \`max-model-len\` of ${who(ctx)} to the model's context length.`,
          'Only if the model is configured for RoPE scaling (e.g. YaRN), set VLLM_ALLOW_LONG_MAX_MODEL_LEN=1 in its env instead.',
        ],
        ...(derived ? { suggestion: { key: 'max-model-len', value: derived } } : {}),
      };
    },
  },
  {
    cause: 'tp-not-divisible',
    pattern: /([\w ]*?heads) \((\d+)\) must be divisible by tensor parallel size \((\d+)\)/,
    build: (m, { ctx }) => {
      const heads = Number(m[2]);
      const tp = Number(m[3]);
      const options = divisors(heads).filter((d) => d <= 16);
      const below = options.filter((d) => d < tp).pop();
      return {
        summary: `tensor-parallel-size ${tp} does not divide the model's ${heads} ${(m[1] ?? 'heads').replace(/^\s*total number of\s*/i, '').trim()}`,
        advice: [`Set \`tensor-parallel-size\` of ${who(ctx)} to a divisor of ${heads}: ${options.join(', ')}.`],
        ...(below ? { suggestion: { key: 'tensor-parallel-size', value: below } } : {}),
      };
    },
  },
  {
    cause: 'tp-exceeds-gpus',
    pattern:
      /please set tensor_parallel_size(?: \((\d+)\))? to less than max local gpu count(?: \((\d+)\))?|please ensure that world_size \((\d+)\) is less than than max local gpu count \((\d+)\)/,
    build: (m, { ctx }) => {
      const tpText = m[1] ?? m[3];
      const tp = tpText === undefined ? ctx.spec?.tensorParallelSize : Number(tpText);
      const seenText = m[2] ?? m[4];
      const seen = seenText === undefined ? undefined : Number(seenText);
      const sees = seen === undefined ? 'the GPUs the container sees' : `the ${seen} GPU${seen === 1 ? '' : 's'} the container sees`;
      return {
        summary: `tensor-parallel-size${tp === undefined ? '' : ` ${tp}`} is more than ${sees}`,
        advice: [
          `Give ${who(ctx)} at least ${tp ?? 'tensor-parallel-size'} GPUs with \`gpus\`${seen ? `, or set \`tensor-parallel-size: ${seen}\`` : ''}.`,
        ],
        ...(seen ? { suggestion: { key: 'tensor-parallel-size', value: seen } } : {}),
      };
    },
  },
  {
    cause: 'cuda-driver',
    pattern:
      /CUDA driver version is insufficient for CUDA runtime version|The NVIDIA driver on your system is too old|cudaErrorInsufficientDriver|forward compatibility was attempted on non supported HW/,
    build: (_m, { ctx }) => ({
      summary: "The host's NVIDIA driver is too old for the CUDA in this vLLM image",
      advice: [`Upgrade the NVIDIA driver, or pin ${who(ctx)} to an older vLLM \`image\` tag built for the driver's CUDA version.`],
    }),
  },
  {
    cause: 'no-gpu',
    pattern: /Failed to infer device type|No CUDA GPUs are available|Found no NVIDIA driver on your system|libcuda\.so\.1: cannot open shared object file/,
    build: (_m, { ctx }) => ({
      summary: 'No GPU reached the container',
      advice: [
        ...(ctx.spec?.gpus?.kind === 'none' ? [`\`gpus\` of ${who(ctx)} is none: give it GPUs.`] : []),
        'Check the NVIDIA Container Toolkit: `docker run --rm --gpus all ubuntu nvidia-smi` must list the GPUs.',
      ],
    }),
  },
  {
    cause: 'dtype-unsupported',
    pattern: /Bfloat16 is only supported on GPUs with compute capability of at least 8\.0\.?(?: Your (.+?) GPU has compute capability (\d+\.\d+))?/,
    build: (m, { ctx }) => ({
      summary: `This GPU${m[1] ? ` (${m[1]}, compute capability ${m[2]})` : ''} cannot run bfloat16`,
      advice: [`Set \`dtype: half\` for ${who(ctx)}.`],
      suggestion: { key: 'dtype', value: 'half' },
    }),
  },
  {
    cause: 'gpu-memory-in-use',
    pattern:
      /Free memory on device(?: \(?(\w+:\d+)\)?)? ?\((\d+(?:\.\d+)?)\/(\d+(?:\.\d+)?) GiB\) on startup is less than desired GPU memory utilization \((\d+(?:\.\d+)?), (\d+(?:\.\d+)?) GiB\)/,
    build: (m, { ctx }) => {
      const free = Number(m[2]);
      const total = Number(m[3]);
      const util = Number(m[4]);
      const wanted = Number(m[5]);
      const device = describeDevice(m[1], ctx);
      const fit = maxFittingUtilization(free, total);
      return {
        summary: `Only ${free} of ${total} GiB was free on ${device} at start; gpu-memory-utilization ${util} wants ${wanted} GiB`,
        advice: [
          fit > 0
            ? `Another process holds ${(total - free).toFixed(1)} GiB of ${device}: stop it, or set \`gpu-memory-utilization: ${fit.toFixed(2)}\` for ${who(ctx)}.`
            : `Another process holds nearly all of ${device}: stop it (see nvidia-smi) or move ${who(ctx)} to another GPU.`,
          'Models sharing a GPU need utilisations summing to at most ~0.95, and must start one after another.',
        ],
        ...(fit > 0 ? { suggestion: { key: 'gpu-memory-utilization', value: fit } } : {}),
      };
    },
  },
  {
    cause: 'kv-cache-too-small',
    // v1: "...(5.62 GiB KV cache is needed, which is larger than the available KV cache memory (4.50 GiB)..."
    // v0: "The model's max seq len (32768) is larger than the maximum number of tokens that can be stored in KV cache (27296)."
    pattern:
      /KV cache is needed, which is larger than the available KV cache memory|max seq len \((\d+)\) is larger than the maximum number of tokens that can be stored in KV cache \((\d+)\)/,
    build: (m, { lines, at, ctx }) => {
      const window = lines.slice(at, at + 5).join(' ');
      const v1 = /max seq len \((\d+)\),?\s*\(?(\d+(?:\.\d+)?) GiB KV cache is needed, which is larger than the available KV cache memory \((-?\d+(?:\.\d+)?) GiB\)/.exec(window);
      const estimate = /the estimated maximum model length is (\d+)/.exec(window)?.[1];
      const fits = estimate !== undefined ? Number(estimate) : m[2] !== undefined ? Number(m[2]) : undefined;
      const maxLen = v1?.[1] ?? m[1];
      const summary = v1
        ? `One ${v1[1]}-token request needs ${v1[2]} GiB of KV cache; ${Number(v1[3]) > 0 ? `only ${v1[3]} GiB is` : 'nothing is'} left after the weights`
        : `The KV cache holds ${m[2] ?? 'fewer'} tokens, fewer than one ${maxLen ?? 'max-length'}-token request`;
      return {
        summary,
        advice: [
          ...(fits && fits > 0 ? [`Set \`max-model-len: ${fits}\` for ${who(ctx)} (what fits now).`] : []),
          `Or raise \`gpu-memory-utilization\` (now ${utilNow(ctx)}), set \`kv-cache-dtype: fp8\`, or use more GPUs with \`tensor-parallel-size\`.`,
        ],
        ...(fits && fits > 0 ? { suggestion: { key: 'max-model-len', value: fits } } : {}),
      };
    },
  },
  {
    cause: 'no-cache-blocks',
    pattern: /No available memory for the cache blocks/,
    build: (_m, { ctx }) => {
      const now = ctx.spec?.gpuMemoryUtilization ?? DEFAULT_GPU_MEMORY_UTILIZATION;
      const next = Math.min(0.95, Math.round((now + 0.05) * 100) / 100);
      return {
        summary: 'No GPU memory was left for the KV cache after loading the weights',
        advice: [
          now < 0.95
            ? `Raise \`gpu-memory-utilization\` of ${who(ctx)} (now ${utilNow(ctx)}), e.g. to ${next.toFixed(2)}.`
            : `\`gpu-memory-utilization\` of ${who(ctx)} is already ${now.toFixed(2)}.`,
          'If that is not enough, the weights barely fit: use a quantised model or more GPUs with `tensor-parallel-size`.',
        ],
        ...(now < 0.95 ? { suggestion: { key: 'gpu-memory-utilization', value: next } } : {}),
      };
    },
  },
  {
    cause: 'cuda-oom',
    pattern: /CUDA out of memory|OutOfMemoryError|CUDA error: out of memory/,
    build: (_m, { lines, at, ctx }) => {
      const line = lines[at] ?? '';
      const tried = /Tried to allocate (\d+(?:\.\d+)? [KMG]iB)/.exec(line)?.[1];
      const gpu = /GPU (\d+)/.exec(line)?.[1];
      const loaded = lines.slice(0, at).some((l) => /Model loading took|Loading weights took|Loading model weights took/.test(l));
      const where = `${gpu === undefined ? '' : ` on GPU ${gpu}`}${tried ? ` (allocating ${tried})` : ''}`;
      const shrink = 'a quantised model, or more GPUs with `tensor-parallel-size`';
      const tune = `Lower \`gpu-memory-utilization\` (now ${utilNow(ctx)}) or \`max-num-seqs\` of ${who(ctx)}, or add \`--enforce-eager\` to its additional_flags.`;
      return {
        summary: loaded
          ? `CUDA ran out of memory after the weights were loaded${where}`
          : `CUDA ran out of memory while loading the weights${where}`,
        advice: loaded
          ? [tune, `If it still fails, use ${shrink}.`]
          : [`The weights do not fit: use ${shrink}.`, tune],
      };
    },
  },
  {
    cause: 'shm',
    pattern: /\/dev\/shm\/nccl-|ncclSystemError|\bBus error\b|unable to write to file <\/torch_/,
    build: (_m, { ctx }) => ({
      summary: 'Shared memory (/dev/shm) ran out: NCCL and PyTorch workers need more than Docker\'s 64 MB default',
      advice: [`Set \`shm-size: 10g\` for ${who(ctx)} (or run it with ipc: host).`],
      suggestion: { key: 'shm-size', value: '10g' },
    }),
  },
  {
    cause: 'disk-full',
    pattern: /No space left on device/,
    build: () => ({
      summary: 'A disk is full (No space left on device)',
      advice: ['Free space where the HF cache lives (HUGGINGFACE_CACHE) and in Docker\'s data root (`docker system df`).'],
    }),
  },
  {
    cause: 'port-in-use',
    pattern: /\[Errno 98\][^\n]*address already in use/i,
    build: () => ({
      summary: "vLLM's port is already in use",
      advice: ['Another process listens on the port (host networking?): stop it. Never set VLLM_PORT: it is not the HTTP port.'],
    }),
  },
  // pydantic validation of vLLM's config (≥ 0.10): the generic form of many config errors.
  {
    cause: 'invalid-config',
    pattern: /Value error, (.+?)(?: \[type=value_error.*)?$/,
    build: (m, { ctx }) => {
      const message = (m[1] ?? '').trim();
      return {
        summary: `vLLM rejected its configuration: ${message.length > 200 ? `${message.slice(0, 199)}…` : message}`,
        advice: [`Fix the setting named in the message for ${who(ctx)} in models.yaml.`],
      };
    },
  },
];

const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;
const WRAPPER = /Engine core initialization failed\. See root cause above/;

const shorten = (line: string): string => {
  const t = line.trim();
  return t.length > EVIDENCE_MAX ? `${t.slice(0, EVIDENCE_MAX - 1)}…` : t;
};

/**
 * Classify why a vLLM container failed to start, from the last {@link DIAGNOSE_TAIL_LINES} lines
 * of its log. Rules are tried in precedence order, most fundamental first (a bad flag stops vLLM
 * before anything; Hugging Face's 401 is re-raised by vLLM as "Invalid repository ID"; a CUDA OOM
 * in one worker makes the others fail in NCCL), and the first line that matches the winning rule is
 * the evidence. vLLM's wrapper `Engine core initialization failed. See root cause above.` is
 * skipped. Returns `undefined` when nothing is recognised.
 */
export function diagnoseStartupFailure(logText: string, context: DiagnosisContext = {}): Diagnosis | undefined {
  const lines = logText
    .replace(ANSI, '')
    .split(/\r?\n|\r/)
    .slice(-DIAGNOSE_TAIL_LINES)
    .filter((l) => !WRAPPER.test(l));
  for (const rule of RULES) {
    if (rule.when && !rule.when(lines, context)) continue;
    for (const [at, line] of lines.entries()) {
      const m = rule.pattern.exec(line);
      if (!m) continue;
      return { cause: rule.cause, evidence: shorten(line), ...rule.build(m, { lines, at, ctx: context }) };
    }
  }
  if (context.exitCode === 137) {
    const killed = [...lines].reverse().find((l) => /\bKilled\b/.test(l));
    return {
      cause: 'killed',
      summary: 'The container was killed (exit 137), usually by the host running out of RAM while loading',
      advice: [
        'Check `dmesg` for the OOM killer; give the machine more RAM or swap, or load a smaller or quantised model.',
      ],
      evidence: killed ? shorten(killed) : 'exit code 137',
    };
  }
  return undefined;
}
