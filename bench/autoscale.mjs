#!/usr/bin/env node
// Autoscaling: how fast the watcher adds a replica under a queue and gives it back afterwards,
// and how many requests fail meanwhile. One model of the vLLM stand-in with --max-num-seqs 2
// (the rest wait in its queue, as in vLLM) and `replicas: {min: 1, max: 2, down-after: ...}`,
// behind the real LiteLLM gateway, with the managed watcher container. Each round: closed-loop
// clients (more than the slots of one replica, never retrying) until the second replica has
// answered for a while, then none until it is gone. Times per round, from the bench's side:
//
//   queue       burst start → first `vllm:num_requests_waiting` > 0 on the first replica
//   decide      queue → the second replica's container is created (the watcher's scale-up
//               delay, INFERSTACK_SCALE_UP_AFTER_MS, is most of it)
//   start       created → its first answer through the gateway (the stand-in's own start,
//               STANDIN_LOAD_DELAY, is inside; shown separately as "of which stand-in")
//   give back   burst end → the second replica is gone (down-after is most of it)
//
//   pnpm build && bash images/build.sh && node bench/autoscale.mjs [--rounds N] [--clients N] [--down-after S] [--json]
//
// Everything it creates carries the label inferstack.test=bench-<pid> and is removed at the end,
// also on Ctrl-C.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { cleanUpOnInterrupt, freePort, serveIn, sweep } from './_support.mjs';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    clients: { type: 'string', default: '6' },
    'down-after': { type: 'string', default: '10' },
    'load-delay': { type: 'string', default: '1' },
    json: { type: 'boolean', default: false },
  },
});
const ROUNDS = Number(values.rounds);
const CLIENTS = Number(values.clients);
const DOWN_AFTER_S = Number(values['down-after']);
const LOAD_DELAY_S = Number(values['load-delay']);

const root = resolve(import.meta.dirname, '..');
const CLI = join(root, 'packages/cli/dist/serve.cjs');
const LABEL = `inferstack.test=bench-${process.pid}`;
const tag = `s${process.pid}`;
const run = promisify(execFile);
const log = (text) => process.stderr.write(`${text}\n`);
const docker = async (...args) => (await run('docker', args, { maxBuffer: 64 << 20, timeout: 120_000 })).stdout.trim();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const port = await freePort();
const dir = mkdtempSync(join(tmpdir(), 'inferstack-autoscale-'));
mkdirSync(join(dir, 'model_config'));
const masterKey = `sk-${randomBytes(24).toString('hex')}`;
writeFileSync(join(dir, '.env'), `HUGGINGFACE_CACHE=${join(dir, 'hf')}\nLITELLM_MASTER_KEY=${masterKey}\n`, { mode: 0o600 });
const model = `${tag}-m`;
const network = `inferstack-bench-${process.pid}`;
writeFileSync(
  join(dir, 'model_config', 'models.yaml'),
  [
    `network: ${network}`,
    `gateway: {image: inferstack-test/litellm:1.108.14, container-name: ${tag}-litellm, port: ${port}}`,
    'monitoring: {mode: none}',
    `watcher: {image: inferstack-test/node:20, container-name: ${tag}-watcher}`,
    'models:',
    `  - ${model}:`,
    `      model: bench/${model}`,
    `      served-model-name: ${model}`,
    '      image: inferstack-test/vllm-standin:latest',
    '      pull: never',
    '      gpus: none',
    '      max-num-seqs: 2',
    `      replicas: {min: 1, max: 2, down-after: ${DOWN_AFTER_S}s}`,
    `      env: {STANDIN_LOAD_DELAY: "${LOAD_DELAY_S}", STANDIN_RESPONSE_DELAY_MS: "300"}`,
  ].join('\n') + '\n',
);

const { run: serve, child, stop } = serveIn({ cli: CLI, dir, label: LABEL });
const cleanup = async () => {
  await serve(['down', '--all', '--drain-timeout', '0']).catch(() => {});
  await sweep({ docker, label: LABEL, log }, dir);
};
cleanUpOnInterrupt({ log, child, cleanup, onSignal: stop });

const replica = async (index) => {
  const ids = (await docker('ps', '-q', '--filter', `label=inference.model=${model}`, '--filter', `label=inferstack.replica=${index}`, '--filter', `label=${LABEL}`)).split('\n').filter(Boolean);
  if (!ids.length) return undefined;
  const [info] = JSON.parse(await docker('inspect', ids[0]));
  return { id: info.Id, created: Date.parse(info.Created), address: info.Config.Labels['inferstack.address-name'], ip: info.NetworkSettings.Networks[network]?.IPAddress };
};
const waiting = async (ip) => {
  try {
    const text = await (await fetch(`http://${ip}:8000/metrics`, { signal: AbortSignal.timeout(2000) })).text();
    return Number(/^vllm:num_requests_waiting\{[^}]*\} ([0-9.e+]+)/m.exec(text)?.[1] ?? 0);
  } catch {
    return 0;
  }
};

const rounds = [];
try {
  const up = await serve(['up']);
  if (up.code !== 0) throw new Error(`serve up failed:\n${up.stderr}`);
  const first = await replica(0);
  for (let round = 1; round <= ROUNDS; round++) {
    const answers = [];
    let running = true;
    const start = Date.now();
    const client = async () => {
      while (running) {
        try {
          const r = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
            method: 'POST',
            headers: { authorization: `Bearer ${masterKey}`, 'content-type': 'application/json' },
            body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 8 }),
            signal: AbortSignal.timeout(60_000),
          });
          const body = await r.json();
          answers.push({ at: Date.now(), ok: r.status === 200 && Array.isArray(body.choices), deployment: r.headers.get('x-litellm-model-id') });
        } catch {
          answers.push({ at: Date.now(), ok: false });
        }
      }
    };
    const clients = Array.from({ length: CLIENTS }, client);
    let queued;
    await sleep(500);
    if (answers.length > 20 && answers.every((a) => !a.ok)) throw new Error('every request fails: the gateway does not serve the model');
    while (!queued && Date.now() - start < 60_000) {
      if ((await waiting(first.ip)) > 0) queued = Date.now();
      else await sleep(100);
    }
    let second;
    while (!second && Date.now() - start < 180_000) {
      second = await replica(1);
      if (!second) await sleep(200);
    }
    let served;
    while (second && !served && Date.now() - start < 240_000) {
      served = answers.find((a) => a.ok && a.deployment === `inferstack-${second.address}`)?.at;
      if (!served) await sleep(100);
    }
    await sleep(3000);
    running = false;
    await Promise.all(clients);
    const end = Date.now();
    let gone;
    while (!gone && Date.now() - end < (DOWN_AFTER_S + 120) * 1000) {
      if (!(await replica(1))) gone = Date.now();
      else await sleep(200);
    }
    const row = {
      round,
      requests: answers.length,
      failed: answers.filter((a) => !a.ok).length,
      queueMs: queued ? queued - start : null,
      decideMs: queued && second ? second.created - queued : null,
      startMs: second && served ? served - second.created : null,
      standinLoadMs: LOAD_DELAY_S * 1000,
      giveBackMs: gone ? gone - end : null,
      downAfterMs: DOWN_AFTER_S * 1000,
    };
    rounds.push(row);
    log(
      `round ${round}: ${row.requests} requests, ${row.failed} failed; queue after ${row.queueMs} ms, replica created ${row.decideMs} ms later, ` +
        `serving ${row.startMs} ms after that (of which stand-in load ${row.standinLoadMs} ms); gone ${row.giveBackMs} ms after the burst (down-after ${row.downAfterMs} ms)`,
    );
    await sleep(2000);
  }
} finally {
  await cleanup();
}
if (values.json) process.stdout.write(`${JSON.stringify(rounds, null, 2)}\n`);
