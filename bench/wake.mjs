#!/usr/bin/env node
// Wake latency: what a request to a sleeping model pays through the real LiteLLM gateway, beyond
// the model's own wake. A project with one vLLM stand-in that sleeps when idle (level 1, after
// --idle seconds) behind the managed gateway and the managed watcher container (serve's bundle).
// Each round, side by side in one run:
//
//   plain    a chat through the gateway to a model without idle policy (no wake hook call)
//   awake    a chat through the gateway to the awake sleepy model (the hook asks the watcher)
//   direct   the model's own wake: POST /sleep then a timed POST /wake_up on its address
//   woken    a chat through the gateway to the model once the watcher put it to sleep
//
// added = woken − awake − direct: what the wake hook, the watcher and the extra routing cost.
// The target is ≤ 500 ms. Prints each round and the median and worst; exit 0 whatever was
// measured (1 only when the stack could not be set up).
//
//   pnpm build && bash images/build.sh && node bench/wake.mjs [--rounds N] [--wake-delay-ms MS] [--idle S] [--awake N]
//
// Everything it creates carries the label inferstack.test=bench-<pid> and is removed at the end,
// also on Ctrl-C; the gateway gets a free port on 127.0.0.1, the project lives in a temporary folder.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    'wake-delay-ms': { type: 'string', default: '300' },
    idle: { type: 'string', default: '3' },
    awake: { type: 'string', default: '5' },
  },
});
const whole = (name, min = 1) => {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} takes a whole number ≥ ${min}, not "${values[name]}"`);
  return n;
};
const ROUNDS = whole('rounds');
const WAKE_DELAY_MS = whole('wake-delay-ms', 0);
const IDLE_S = whole('idle');
const AWAKE_N = whole('awake');

const CLI = resolve(import.meta.dirname, '../packages/cli/dist/serve.cjs');
const LITELLM = process.env.INFERSTACK_TEST_LITELLM_IMAGE ?? 'inferstack-test/litellm:1.108.14';
const STANDIN = 'inferstack-test/vllm-standin:latest';
const NODE = 'inferstack-test/node:20';
const LABEL = `inferstack.test=bench-${process.pid}`;
const MASTER_KEY = `sk-bench-${randomBytes(12).toString('hex')}`;
const tag = randomBytes(3).toString('hex');
const dir = mkdtempSync(join(tmpdir(), 'inferstack-bench-wake-'));
const log = (line) => process.stderr.write(`${line}\n`);
const run = promisify(execFile);
const docker = async (...args) => (await run('docker', args, { maxBuffer: 16 << 20 })).stdout.trim();

function freePort() {
  return new Promise((resolvePort, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolvePort(port));
    });
    s.on('error', reject);
  });
}

function serve(args) {
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: dir,
      env: { ...process.env, INFERSTACK_LABELS: LABEL, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolveRun({ code, stdout, stderr }));
  });
}

async function cleanup() {
  await serve(['down', '--all', '--volumes', '--drain-timeout', '0']).catch(() => {});
  const ids = (await docker('ps', '-aq', '--filter', `label=${LABEL}`).catch(() => '')).split('\n').filter(Boolean);
  if (ids.length) await docker('rm', '-f', '-v', ...ids).catch((e) => log(`cleanup: ${e.message}`));
  const nets = (await docker('network', 'ls', '-q', '--filter', `label=${LABEL}`).catch(() => '')).split('\n').filter(Boolean);
  if (nets.length) await docker('network', 'rm', ...nets).catch((e) => log(`cleanup: ${e.message}`));
  rmSync(dir, { recursive: true, force: true });
}
process.on('SIGINT', () => cleanup().finally(() => process.exit(130)));

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (x) => `${Math.round(x)} ms`;

async function timed(fn) {
  const start = performance.now();
  const result = await fn();
  return { ms: performance.now() - start, result };
}

async function main() {
  const port = await freePort();
  const key = `wake-${tag}`;
  const served = `served-${tag}`;
  mkdirSync(join(dir, 'model_config'));
  writeFileSync(join(dir, '.env'), `LITELLM_MASTER_KEY=${MASTER_KEY}\n`, { mode: 0o600 });
  writeFileSync(
    join(dir, 'model_config', 'models.yaml'),
    [
      `name: bench-wake-${tag}`,
      `network: inferstack-bench-${tag}`,
      `gateway: {image: ${LITELLM}, container-name: bench-${tag}-litellm, port: ${port}}`,
      'monitoring: {mode: none}',
      `watcher: {image: ${NODE}, container-name: bench-${tag}-watcher}`,
      'models:',
      `  - ${key}:`,
      '      model: test/wake',
      '      gpus: none',
      `      served-model-name: ${served}`,
      `      image: ${STANDIN}`,
      '      pull: never',
      `      idle: {after: ${IDLE_S}s}`,
      `      env: {STANDIN_LOAD_DELAY: "1", STANDIN_WAKE_DELAY_MS: "${WAKE_DELAY_MS}", STANDIN_SLEEP_DELAY_MS: "50"}`,
      `  - plain-${tag}:`,
      '      model: test/plain',
      '      gpus: none',
      `      served-model-name: plain-${tag}`,
      `      image: ${STANDIN}`,
      '      pull: never',
      '      env: {STANDIN_LOAD_DELAY: "1"}',
      '',
    ].join('\n'),
  );
  log(`starting the stand-in, the gateway (${LITELLM}) and the watcher...`);
  const up = await serve(['up']);
  if (up.code !== 0) {
    log(up.stderr);
    throw new Error('serve up failed');
  }
  const container = `inference-${key}`;
  // A model that sleeps lives on the stack's private network only: its one address.
  const ip = await docker('inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', container);
  const model = (path, init) => fetch(`http://${ip}:8000${path}`, { method: 'POST', ...init });
  const chat = async (name = served) => {
    const r = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: name, messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 }),
      signal: AbortSignal.timeout(120_000),
    });
    const body = await r.text();
    if (r.status !== 200) throw new Error(`chat: HTTP ${r.status}: ${body.slice(0, 200)}`);
  };
  const asleep = async () => {
    const r = await fetch(`http://${ip}:8000/is_sleeping`);
    return ((await r.json()).is_sleeping) === true;
  };
  const untilAsleep = async () => {
    const end = Date.now() + 60_000;
    while (!(await asleep())) {
      if (Date.now() > end) throw new Error('the watcher did not put the model to sleep within 60 s');
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  // Warm the gateway's route and connections.
  await chat();
  await chat(`plain-${tag}`);
  const rounds = [];
  for (let i = 0; i < ROUNDS; i++) {
    const awake = [];
    const plain = [];
    for (let j = 0; j < AWAKE_N; j++) {
      plain.push((await timed(() => chat(`plain-${tag}`))).ms);
      awake.push((await timed(() => chat())).ms);
    }
    // The model's own wake, measured on it directly (the watcher wakes only on a request).
    await model('/sleep?level=1');
    const direct = (await timed(() => model('/wake_up'))).ms;
    // Used just now (directly): the watcher waits the idle time again, then puts it to sleep.
    await untilAsleep();
    const woken = (await timed(() => chat())).ms;
    const row = { plain: median(plain), awake: median(awake), direct, woken, added: woken - median(awake) - direct };
    rounds.push(row);
    log(`round ${i + 1}: plain ${ms(row.plain)}, awake ${ms(row.awake)}, direct wake ${ms(row.direct)}, woken through the gateway ${ms(row.woken)} → added ${ms(row.added)}`);
  }
  const added = rounds.map((r) => r.added);
  console.log(
    `\nwake latency through the gateway: 1 stand-in (STANDIN_WAKE_DELAY_MS ${WAKE_DELAY_MS}) behind ${LITELLM} and the managed watcher; ${ROUNDS} round(s); node ${process.version}, ${availableParallelism()} cores, load ${loadavg()[0].toFixed(2)}`,
  );
  const plain = median(rounds.map((r) => r.plain));
  const awake = median(rounds.map((r) => r.awake));
  console.log(`  request, model without idle policy (median)   ${ms(plain)}`);
  console.log(`  request, awake sleepy model (median)           ${ms(awake)} (${(awake / plain).toFixed(2)}× : the hook asks the watcher)`);
  console.log(`  the model's own wake (median)                  ${ms(median(rounds.map((r) => r.direct)))}`);
  console.log(`  request that woke it (median)                  ${ms(median(rounds.map((r) => r.woken)))}`);
  console.log(`  added by hook + watcher: median ${ms(median(added))}, worst ${ms(Math.max(...added))} (target ≤ 500 ms: ${Math.max(...added) <= 500 ? 'met' : 'NOT met'})`);
}

try {
  await main();
} catch (error) {
  log(`bench failed: ${error.message}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
