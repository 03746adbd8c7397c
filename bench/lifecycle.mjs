#!/usr/bin/env node
// Benchmark of the model lifecycle against the real daemon with the vLLM stand-in (no load
// delay). For N models: the first `serve up`, a no-op `serve up`, `serve status`, `serve down`,
// and beside them, in the same run, N plain `docker run -d` of the same image (the floor).
// Also: how long after the stand-in starts answering /health `serve` notices it.
//
//   pnpm build && bash images/build.sh && node bench/lifecycle.mjs [N...]   (default 1 10 30)
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '..');
const CLI = join(root, 'packages/cli/dist/serve.cjs');
const IMAGE = 'inferstack-test/vllm-standin:latest';
const LABEL = `inferstack.test=bench-${process.pid}`;
const sizes = process.argv.slice(2).map(Number).filter(Boolean);
const Ns = sizes.length ? sizes : [1, 10, 30];

const dir = mkdtempSync(join(tmpdir(), 'inferstack-bench-'));
mkdirSync(join(dir, 'model_config'));
writeFileSync(join(dir, '.env'), `HUGGINGFACE_CACHE=${join(dir, 'hf')}\n`);
const network = `inferstack-bench-${process.pid}`;

function serve(args) {
  return new Promise((res, rej) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: dir,
      env: { ...process.env, INFERSTACK_LABELS: LABEL, INFERSTACK_HASH_KEY: 'bench', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.stdout.resume();
    child.on('close', (code) => (code === 0 ? res(performance.now() - t0) : rej(new Error(`serve ${args.join(' ')} exited ${code}\n${err}`))));
  });
}

async function docker(...args) {
  return (await run('docker', args, { maxBuffer: 64 << 20 })).stdout.trim();
}

async function cleanup() {
  const ids = (await docker('ps', '-aq', '--filter', `label=${LABEL}`)).split('\n').filter(Boolean);
  if (ids.length) await docker('rm', '-f', ...ids);
}

async function floor(n) {
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: n }, (_, i) =>
      docker('run', '-d', '--name', `bench-floor-${process.pid}-${i}`, '--label', LABEL, '--network', network, '-e', 'STANDIN_LOAD_DELAY=0', IMAGE, 'm', '--port', '8000'),
    ),
  );
  const ms = performance.now() - t0;
  await cleanup();
  return ms;
}

function config(n) {
  const lines = [`network: ${network}`, 'gateway: {mode: none}', 'monitoring: {mode: none}', 'defaults:', `  image: ${IMAGE}`, '  pull: never', '  env:', '    STANDIN_LOAD_DELAY: "0"', 'models:'];
  for (let i = 0; i < n; i++) lines.push(`  - bench-${process.pid}-${i}:`, `      model: bench/m${i}`, '      gpus: none');
  writeFileSync(join(dir, 'model_config', 'models.yaml'), lines.join('\n') + '\n');
}

/**
 * How long after the stand-in starts answering (its "Application startup complete" line, by
 * Docker's log timestamp) docker-ops' readiness wait notices, measured in-process.
 */
async function readinessLag() {
  const ops = await import('../packages/docker-ops/dist/index.js');
  const { default: Docker } = await import('../packages/docker-ops/node_modules/dockerode/lib/docker.js');
  const client = new Docker();
  const samples = [];
  for (let i = 0; i < 5; i++) {
    const key = `bench-lag-${process.pid}-${i}`;
    const spec = {
      key, containerName: `inference-${key}`, model: 'bench/lag', servedModelName: 'bench/lag', image: IMAGE, pullPolicy: 'never',
      gpus: { kind: 'none' }, vllmArgs: [], env: { STANDIN_LOAD_DELAY: '2' }, secretEnv: {}, volumes: [], specHash: `lag${i}`,
      source: { file: 'bench', line: 1, column: 1 },
    };
    let readyAt = 0;
    await ops.applyModelPlan(client, ops.planModels([spec], []), {
      network, extraLabels: { 'inferstack.test': LABEL.split('=')[1] },
      onEvent: (e) => { if (e.type === 'ready') readyAt = Date.now(); },
    });
    const { stdout, stderr } = await run('docker', ['logs', '--timestamps', spec.containerName]);
    const line = (stdout + stderr).split('\n').find((l) => l.includes('Application startup complete'));
    samples.push(readyAt - Date.parse(line.split(' ')[0]));
    await cleanup();
  }
  return samples;
}

const fmt = (ms) => `${(ms / 1000).toFixed(2)}s`;
await docker('network', 'create', '--label', LABEL, network).catch(() => {});
try {
  console.log(`host: ${(await run('nproc')).stdout.trim()} cores; image ${IMAGE}; each row measured side by side in one run\n`);
  console.log('N    floor (N docker run -d)   first up      ratio   no-op up   status    down');
  for (const n of Ns) {
    const f = await floor(n);
    config(n);
    const first = await serve(['up']);
    const noop = await serve(['up']);
    const status = await serve(['status']);
    const down = await serve(['down']);
    await cleanup();
    console.log(
      `${String(n).padEnd(4)} ${fmt(f).padEnd(25)} ${fmt(first).padEnd(13)} ${(first / f).toFixed(2).padEnd(7)} ${fmt(noop).padEnd(10)} ${fmt(status).padEnd(9)} ${fmt(down)}`,
    );
  }
  const lag = await readinessLag();
  console.log(`\nreadiness noticed after the server started answering: ${lag.map((ms) => `${ms} ms`).join(', ')} (target: within 250 ms)`);
} finally {
  await cleanup().catch(() => {});
  await docker('network', 'rm', network).catch(() => {});
  rmSync(dir, { recursive: true, force: true });
}
