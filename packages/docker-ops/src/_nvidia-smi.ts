/**
 * Parsers for `nvidia-smi` output (internal; re-exported through `gpu.ts`). Pure: text in,
 * `GpuInfo[]` or a typed error out. They never throw on bad input, because the text comes from
 * another program (and sometimes from a container) and a pre-flight check must not crash the CLI.
 */

/** One GPU as `nvidia-smi` reports it. Memory in MiB, as `nvidia-smi` counts it. */
export interface GpuInfo {
  /** `nvidia-smi`'s index: the number used by `--gpus device=N` and in models.yaml `gpus`. */
  index: number;
  uuid?: string;
  name?: string;
  totalMiB: number;
  usedMiB: number;
  freeMiB: number;
}

type MemoryMiB = Partial<Record<'total' | 'used' | 'free', number>>;

/** One GPU as both parsers report it (absent memory fields as 0, empty names left out). */
function gpuInfo(index: number, uuid: string | undefined, name: string | undefined, memory: MemoryMiB): GpuInfo {
  return {
    index,
    ...(uuid ? { uuid } : {}),
    ...(name ? { name } : {}),
    totalMiB: memory.total ?? 0,
    usedMiB: memory.used ?? 0,
    freeMiB: memory.free ?? 0,
  };
}

/** Why `nvidia-smi` output could not be read. Plain data, not an exception. */
export interface GpuParseError {
  kind: 'gpu-parse-error';
  reason: 'empty' | 'unrecognised' | 'missing-column' | 'bad-value';
  /** One line, for the CLI. */
  message: string;
  /** 1-based line of the CSV text that failed, when there is one. */
  line?: number;
}

/** Result of parsing `nvidia-smi` output. */
export type GpuParseResult = { ok: true; gpus: GpuInfo[] } | { ok: false; error: GpuParseError };

/**
 * The fields we query, in order. `index` first so that each row names its GPU; memory last
 * because the names never contain commas but keep the numbers easy to find when reading by eye.
 */
export const NVIDIA_SMI_QUERY_FIELDS = [
  'index',
  'uuid',
  'name',
  'memory.total',
  'memory.used',
  'memory.free',
] as const;

/**
 * Arguments for `nvidia-smi` that give the text {@link parseNvidiaSmi} reads best: CSV without
 * header or units (`nvidia-smi --query-gpu=index,uuid,name,memory.total,memory.used,memory.free
 * --format=csv,noheader,nounits`).
 */
export const NVIDIA_SMI_QUERY_ARGS: readonly string[] = [
  `--query-gpu=${NVIDIA_SMI_QUERY_FIELDS.join(',')}`,
  '--format=csv,noheader,nounits',
];

/** Column layouts accepted without a header, by column count. */
const HEADERLESS_LAYOUTS: Record<number, readonly string[]> = {
  6: NVIDIA_SMI_QUERY_FIELDS,
  // `--query-gpu=index,memory.total,memory.used,memory.free`: the short form many scripts use.
  4: ['index', 'memory.total', 'memory.used', 'memory.free'],
};

const fail = (reason: GpuParseError['reason'], message: string, line?: number): GpuParseResult => ({
  ok: false,
  error: { kind: 'gpu-parse-error', reason, message, ...(line === undefined ? {} : { line }) },
});

/** `143771 MiB`, `143771`, `139.8 GiB` → MiB; `[N/A]`, `[Not Supported]`, junk → undefined. */
function parseMiB(raw: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*(MiB|GiB|KiB)?$/i.exec(raw.trim());
  if (!m?.[1]) return undefined;
  const n = Number(m[1]);
  const unit = (m[2] ?? 'MiB').toLowerCase();
  return unit === 'gib' ? n * 1024 : unit === 'kib' ? n / 1024 : n;
}

/** `memory.total [MiB]` → `memory.total`. */
const fieldName = (header: string): string => header.replace(/\[[^\]]*\]/g, '').trim().toLowerCase();

/**
 * Parse `nvidia-smi --query-gpu=... --format=csv[,noheader][,nounits]` output. With a header the
 * columns are found by name (extra columns such as `utilization.gpu` are ignored); without one,
 * the layout of {@link NVIDIA_SMI_QUERY_ARGS} (6 columns) or `index,memory.total,memory.used,
 * memory.free` (4 columns) is assumed. Units (`MiB`) may be present or not.
 */
export function parseNvidiaSmiCsv(text: string): GpuParseResult {
  const rows = text
    .split(/\r?\n/)
    .map((raw, i) => ({ raw: raw.trim(), line: i + 1 }))
    .filter((r) => r.raw !== '');
  const first = rows[0];
  if (!first) return fail('empty', 'nvidia-smi printed nothing');
  if (rows.length === 1 && /no devices were found/i.test(first.raw)) return { ok: true, gpus: [] };

  let fields: readonly string[] | undefined;
  let dataRows = rows;
  const firstCells = first.raw.split(',').map((c) => c.trim());
  if (firstCells.some((c) => fieldName(c) === 'memory.total')) {
    fields = firstCells.map(fieldName);
    dataRows = rows.slice(1);
  }

  const gpus: GpuInfo[] = [];
  for (const [position, row] of dataRows.entries()) {
    const cells = row.raw.split(',').map((c) => c.trim());
    const layout = fields ?? HEADERLESS_LAYOUTS[cells.length];
    // Without a header every row starts with the index; anything else is another query or a message.
    if (!layout || cells.length !== layout.length || (!fields && !/^\d+$/.test(cells[0] ?? ''))) {
      return fail(
        'unrecognised',
        `nvidia-smi output line ${row.line} is not the expected CSV: ${JSON.stringify(row.raw.slice(0, 120))}`,
        row.line,
      );
    }
    const cell = (name: string): string | undefined => {
      const at = layout.indexOf(name);
      return at === -1 ? undefined : cells[at];
    };
    const memory: MemoryMiB = {};
    for (const key of ['total', 'used', 'free'] as const) {
      const raw = cell(`memory.${key}`);
      if (raw === undefined) {
        return fail('missing-column', `nvidia-smi output has no memory.${key} column`, row.line);
      }
      const mib = parseMiB(raw);
      if (mib === undefined) {
        return fail('bad-value', `nvidia-smi reported memory.${key} as ${JSON.stringify(raw)} (line ${row.line})`, row.line);
      }
      memory[key] = mib;
    }
    const rawIndex = cell('index');
    const index = rawIndex === undefined ? position : Number(rawIndex);
    if (!Number.isInteger(index) || index < 0) {
      return fail('bad-value', `nvidia-smi reported GPU index ${JSON.stringify(rawIndex)} (line ${row.line})`, row.line);
    }
    gpus.push(gpuInfo(index, cell('uuid'), cell('name'), memory));
  }
  return { ok: true, gpus };
}

const tag = (xml: string, name: string): string | undefined => {
  const m = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml);
  return m?.[1]?.trim();
};

/**
 * Parse `nvidia-smi -q -x`. GPUs are listed in index order, so the position is the index (the
 * `minor_number` is the device node number, which can differ). Memory is `fb_memory_usage`.
 */
export function parseNvidiaSmiXml(text: string): GpuParseResult {
  if (!/<nvidia_smi_log[\s>]/.test(text)) return fail('unrecognised', 'not nvidia-smi -q -x output');
  const gpus: GpuInfo[] = [];
  const blocks = text.match(/<gpu\s[^>]*>[\s\S]*?<\/gpu>/g) ?? [];
  for (const [index, block] of blocks.entries()) {
    const fb = /<fb_memory_usage>([\s\S]*?)<\/fb_memory_usage>/.exec(block)?.[1];
    if (fb === undefined) return fail('missing-column', `GPU ${index} has no fb_memory_usage in nvidia-smi -q -x`);
    const memory: MemoryMiB = {};
    for (const key of ['total', 'used', 'free'] as const) {
      const raw = tag(fb, key);
      const mib = raw === undefined ? undefined : parseMiB(raw);
      if (mib === undefined) {
        return fail('bad-value', `nvidia-smi -q -x reported GPU ${index} memory ${key} as ${JSON.stringify(raw ?? '')}`);
      }
      memory[key] = mib;
    }
    gpus.push(gpuInfo(index, tag(block, 'uuid'), tag(block, 'product_name'), memory));
  }
  return { ok: true, gpus };
}

/** Parse either form: `nvidia-smi -q -x` XML when the text looks like XML, else the CSV query. */
export function parseNvidiaSmi(text: string): GpuParseResult {
  return /^\s*<\?xml|<nvidia_smi_log[\s>]/.test(text) ? parseNvidiaSmiXml(text) : parseNvidiaSmiCsv(text);
}
