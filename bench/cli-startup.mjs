#!/usr/bin/env node
// Cold start of the `serve` bin as users install it: from the packed tarballs, npm-installed into
// an empty folder. Every run is a fresh process, timed from spawn to exit. Side by side in the
// same run (interleaved, so machine noise hits all rows alike): `node -e 0`, the floor no Node
// CLI can beat; `serve --help`; `serve status` and a no-op `serve up` against 10 running
// stand-in models with gateway and monitoring `none` (so they need a daemon and the local test
// images: bash images/build.sh vllm-standin); the requests of that status and that up alone,
// without serve (bench/_requests-only.cjs); the same status as a first run (empty caches);
// and `npx serve --help` (what npx adds).
// Targets, as ratios to the floor measured in the same run: --help ≤ 1.3, status ≤ 1.6,
// no-op up ≤ 1.8.
//
//   node bench/cli-startup.mjs [--runs N] [--app DIR]
//
//   --runs N   timed runs per row, after 2 warm-up runs (default 20)
//   --app DIR  use an existing install (a folder with node_modules/.bin/serve) instead of
//              building, packing and installing into a temporary folder (removed at the end)
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { basename, delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { packAndInstall } from '../test/packaging/_pack-install.mjs';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '20' }, app: { type: 'string' } } });
const RUNS = Number(values.runs);
const WARMUP = 2;
const MODELS = 10;
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error(`--runs takes a whole number ≥ 1, not "${values.runs}"`);

let packed;
let appDir;
if (values.app) {
  appDir = resolve(values.app);
  if (!existsSync(join(appDir, 'node_modules', '.bin', 'serve'))) throw new Error(`${appDir} has no node_modules/.bin/serve`);
} else {
  process.stderr.write('building, packing and installing the packages...\n');
  packed = await packAndInstall({ log: (line) => process.stderr.write(`  ${line}\n`) });
  appDir = packed.appDir;
}
const bin = join(appDir, 'node_modules', '.bin', 'serve');

// A project for `serve status`: nothing to reach but the daemon.
const project = await mkdtemp(join(tmpdir(), 'inferstack-startup-'));
const tag = `${process.pid}`;
await mkdir(join(project, 'model_config'));
await writeFile(join(project, '.env'), `HUGGINGFACE_CACHE=${join(project, 'hf-cache')}\n`);
await writeFile(
  join(project, 'model_config', 'models.yaml'),
  [
    `network: inferstack-bench-startup-${tag}`,
    'gateway: {mode: none}',
    'monitoring: {mode: none}',
    'defaults: {image: inferstack-test/vllm-standin:latest, pull: never, env: {STANDIN_LOAD_DELAY: "0"}}',
    'models:',
    ...Array.from({ length: MODELS }, (_, i) => `  - bench${tag}-m${i}: {model: test/m${i}, gpus: none}`),
    '',
  ].join('\n'),
);

// The bin's `#!/usr/bin/env node` must find the same Node as the floor.
const env = {
  ...process.env,
  PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`,
  NO_COLOR: '1',
  INFERSTACK_HASH_KEY: 'bench',
};

const config = join(project, 'model_config', 'models.yaml');
const network = `inferstack-bench-startup-${tag}`;
// The stack's name, as serve makes it of the project folder's (mkdtemp's: letters and digits).
const stack = basename(project).toLowerCase().replace(/[^a-z0-9_-]+/g, '-');
const requestsOnly = fileURLToPath(new URL('./_requests-only.cjs', import.meta.url));
const rows = [
  { name: 'node -e 0 (floor)', command: process.execPath, args: ['-e', '0'] },
  { name: 'serve --help', command: bin, args: ['--help'], target: 1.3 },
  { name: `serve status (${MODELS} models)`, command: bin, args: ['status', '-c', config], target: 1.6 },
  { name: `serve up, nothing to do (${MODELS} models)`, command: bin, args: ['up', '-c', config], target: 1.8 },
  // The same requests as that status and that up, and nothing else (see the file): what no
  // status or up can beat here.
  { name: "status's requests alone", command: process.execPath, args: [requestsOnly, 'status', network, stack] },
  { name: "up's requests alone", command: process.execPath, args: [requestsOnly, 'up', network, stack] },
  // A first run: an empty cache directory each time, so V8 compiles the bundle, models.yaml is
  // parsed, and both are kept at the end.
  { name: `serve status, first run`, command: bin, args: ['status', '-c', config], fresh: true },
  { name: 'npx serve --help', command: 'npx', args: ['--yes=false', 'serve', '--help'] },
];

async function once(row) {
  const cache = row.fresh ? await mkdtemp(join(tmpdir(), 'inferstack-startup-cache-')) : undefined;
  try {
    return await timed(row, cache ? { ...env, XDG_CACHE_HOME: cache } : env);
  } finally {
    if (cache) await rm(cache, { recursive: true, force: true });
  }
}

function timed(row, env) {
  return new Promise((resolvePromise, reject) => {
    const t0 = performance.now();
    const child = spawn(row.command, row.args, { cwd: appDir, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - t0;
      if (code !== 0) reject(new Error(`${row.name} exited ${code}\n${stderr}`));
      else resolvePromise(ms);
    });
  });
}

try {
  process.stderr.write(`starting ${MODELS} stand-in models...\n`);
  await once({ name: 'serve up (first)', command: bin, args: ['up', '-c', config] });
  for (const row of rows) row.times = [];
  for (let i = 0; i < WARMUP + RUNS; i++) {
    for (const row of rows) {
      const ms = await once(row);
      if (i >= WARMUP) row.times.push(ms);
    }
  }

  const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
  const median = (times) => pct([...times].sort((a, b) => a - b), 50);
  const floor = median(rows[0].times);
  const table = [['', 'median', 'p90', 'min', '× floor', 'above floor']];
  for (const row of rows) {
    const sorted = [...row.times].sort((a, b) => a - b);
    const med = pct(sorted, 50);
    table.push([
      row.name,
      `${(med / 1000).toFixed(3)} s`,
      `${(pct(sorted, 90) / 1000).toFixed(3)} s`,
      `${(sorted[0] / 1000).toFixed(3)} s`,
      `${(med / floor).toFixed(2)}`,
      row === rows[0] ? '-' : `+${((med - floor) / 1000).toFixed(3)} s`,
    ]);
  }
  const widths = table[0].map((_, c) => Math.max(...table.map((r) => r[c].length)));
  console.log(`\ncold starts, ${RUNS} runs each after ${WARMUP} warm-up, interleaved; node ${process.version}, ${availableParallelism()} cores, load ${loadavg()[0].toFixed(2)}`);
  table.forEach((r, i) => {
    console.log(r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  '));
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  });
  console.log('');
  for (const row of rows.filter((r) => r.target)) {
    const ratio = median(row.times) / floor;
    console.log(`${row.name}: ${ratio.toFixed(2)}× the floor; target ≤ ${row.target}: ${ratio <= row.target ? 'met' : 'NOT met'}`);
  }
} finally {
  await once({ name: 'serve down --all', command: bin, args: ['down', '--all', '-c', config] }).catch((error) => process.stderr.write(`${error.message}\n`));
  await rm(project, { recursive: true, force: true });
  await packed?.cleanup();
}
