#!/usr/bin/env node
// `serve plan` and `serve status` of a stack on two Docker hosts against the same on one: hosts
// are asked in parallel, so 2 hosts × 10 models should cost about what 1 host × 10 models does.
// Every run is a fresh `serve` process, timed from spawn to exit, rows interleaved in one run (so
// machine noise hits all rows alike). Host b is the second daemon of scripts/ensure-docker-b.sh,
// reached over its unix socket, over tcp with mutual TLS and over ssh (its endpoints.json); the
// models are vLLM stand-ins with gateway and monitoring `none`, so only Docker is asked.
// Target: 2 hosts ≤ 1.3 × 1 host (median), for plan and for status, over the unix socket and tcp+TLS;
// ssh is shown for information: its SSH login and the `docker system dial-stdio` process each
// channel starts on the host cost a few hundred milliseconds whatever the number of hosts (here
// on the same two cores as everything else).
//
//   pnpm build && bash images/build.sh vllm-standin && bash scripts/ensure-docker-b.sh
//   node bench/hosts.mjs [--runs N] [--models N]
//
//   --runs N    timed runs per row, after 2 warm-up runs (default 10)
//   --models N  models per host (default 10)
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, homedir, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '10' }, models: { type: 'string', default: '10' } } });
const RUNS = Number(values.runs);
const MODELS = Number(values.models);
const WARMUP = 2;
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error(`--runs takes a whole number ≥ 1, not "${values.runs}"`);
if (!Number.isInteger(MODELS) || MODELS < 1) throw new Error(`--models takes a whole number ≥ 1, not "${values.models}"`);

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'packages', 'cli', 'dist', 'serve.cjs');
if (!existsSync(bin)) throw new Error(`${bin} is missing: run "pnpm build" first`);
const stateDir = process.env.INFERSTACK_DOCKER_B_DIR || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'inferstack', 'docker-b');
const endpointsFile = join(stateDir, 'endpoints.json');
if (!existsSync(endpointsFile)) throw new Error(`host b is not set up (no ${endpointsFile}): run "bash scripts/ensure-docker-b.sh" (as root)`);
const b = JSON.parse(readFileSync(endpointsFile, 'utf8'));

const tag = `${process.pid}`;
const label = `inferstack.test=bench-hosts-${tag}`;
const env = { ...process.env, NO_COLOR: '1', INFERSTACK_HASH_KEY: 'bench', INFERSTACK_LABELS: label };
delete env.DOCKER_HOST;

const hostB = {
  unix: [`    endpoint: ${b.unix}`],
  tls: [`    endpoint: ${b.tls.host}`, `    tls: {ca: ${b.tls.ca}, cert: ${b.tls.cert}, key: ${b.tls.key}}`],
  ssh: [`    endpoint: ${b.ssh.b}`, `    ssh: {private-key: ${b.ssh.privateKey}, known-hosts: ${b.ssh.knownHosts}}`],
};

// One Hugging Face cache for all projects: the projects of the two-host stack must plan the same.
const scratch = await mkdtemp(join(tmpdir(), 'inferstack-bench-hosts-'));

/** A project: `MODELS` models on A, and as many on host b (reached as `transport`) when given. */
async function project(name, transport) {
  const dir = await mkdtemp(join(scratch, `${name}-`));
  await mkdir(join(dir, 'model_config'));
  await writeFile(join(dir, '.env'), `HUGGINGFACE_CACHE=${join(scratch, 'hf-cache')}\n`);
  const models = (host) =>
    Array.from({ length: MODELS }, (_, i) => `  - bench${tag}-${name}-${host}${i}: {model: test/m${i}, gpus: none${host === 'b' ? ', host: b' : ''}}`);
  await writeFile(
    join(dir, 'model_config', 'models.yaml'),
    [
      `name: bench-hosts-${tag}-${name}`,
      `network: inferstack-bench-hosts-${tag}-${name}`,
      // The stand-ins on b publish on its private bridge only: no api-key needed there.
      ...(transport ? ['hosts:', '  b:', ...hostB[transport], `    address: ${b.bridgeAddress}`, '    allow-open-models: true'] : []),
      'gateway: {mode: none}',
      'monitoring: {mode: none}',
      'defaults: {image: inferstack-test/vllm-standin:latest, pull: never, env: {STANDIN_LOAD_DELAY: "0"}}',
      'models:',
      ...models('a'),
      ...(transport ? models('b') : []),
      '',
    ].join('\n'),
  );
  return { dir, config: join(dir, 'model_config', 'models.yaml') };
}

function once(name, args, cwd) {
  return new Promise((resolvePromise, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [bin, ...args], { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - t0;
      if (code !== 0) reject(new Error(`${name} exited ${code}\n${stderr}`));
      else resolvePromise(ms);
    });
  });
}

const one = await project('one');
const two = await project('two', 'unix');
// The same stack on two hosts, host b reached another way: one project directory each.
const twoTls = await project('two', 'tls');
const twoSsh = await project('two', 'ssh');
const rows = [];
for (const verb of ['plan', 'status']) {
  rows.push({ name: `${verb}, 1 host × ${MODELS}`, verb, p: one, base: true });
  rows.push({ name: `${verb}, 2 hosts × ${MODELS} (b: unix)`, verb, p: two, target: 1.3 });
  rows.push({ name: `${verb}, 2 hosts × ${MODELS} (b: tcp+TLS)`, verb, p: twoTls, target: 1.3 });
  rows.push({ name: `${verb}, 2 hosts × ${MODELS} (b: ssh)`, verb, p: twoSsh });
}

try {
  process.stderr.write(`starting ${MODELS} stand-ins for the one-host stack and ${2 * MODELS} for the two-host one...\n`);
  await once('serve up (one)', ['up', '-c', one.config], one.dir);
  await once('serve up (two)', ['up', '-c', two.config], two.dir);
  for (const row of rows) row.times = [];
  for (let i = 0; i < WARMUP + RUNS; i++) {
    for (const row of rows) {
      const ms = await once(row.name, [row.verb, '-c', row.p.config], row.p.dir);
      if (i >= WARMUP) row.times.push(ms);
    }
  }

  const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
  const median = (times) => pct([...times].sort((x, y) => x - y), 50);
  const table = [['', 'median', 'p90', 'min', '× 1 host']];
  for (const row of rows) {
    const sorted = [...row.times].sort((x, y) => x - y);
    const base = median(rows.find((r) => r.base && r.verb === row.verb).times);
    table.push([row.name, `${(pct(sorted, 50) / 1000).toFixed(3)} s`, `${(pct(sorted, 90) / 1000).toFixed(3)} s`, `${(sorted[0] / 1000).toFixed(3)} s`, (pct(sorted, 50) / base).toFixed(2)]);
  }
  const widths = table[0].map((_, c) => Math.max(...table.map((r) => r[c].length)));
  console.log(`\nserve plan / status, ${RUNS} runs each after ${WARMUP} warm-up, interleaved; node ${process.version}, ${availableParallelism()} cores, load ${loadavg()[0].toFixed(2)}`);
  table.forEach((r, i) => {
    console.log(r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  '));
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  });
  console.log('');
  for (const row of rows.filter((r) => r.target)) {
    const ratio = median(row.times) / median(rows.find((r) => r.base && r.verb === row.verb).times);
    console.log(`${row.name}: ${ratio.toFixed(2)}× 1 host; target ≤ ${row.target}: ${ratio <= row.target ? 'met' : 'NOT met'}`);
  }
} finally {
  for (const p of [one, two]) await once('serve down --all', ['down', '--all', '-c', p.config], p.dir).catch((error) => process.stderr.write(`${error.message}\n`));
  await rm(scratch, { recursive: true, force: true });
}
