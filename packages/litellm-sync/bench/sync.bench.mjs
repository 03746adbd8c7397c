#!/usr/bin/env node
// Sync time in API mode against the fake DB-mode LiteLLM (test/fake-litellm-api.mjs): one full
// sync = GET /model/info, plan, POST /model/new per model, read /model/info back until it shows
// them. Also: the same sync again (nothing to do) and removing everything.
//
//   pnpm --filter @inferstack/litellm-sync bench      (builds dist first)
//
// Options (env): BENCH_RUNS (default 5), BENCH_LATENCY_MS (extra per-request latency of the fake
// proxy for the second table, default 20: a DB write is not free). Target: 50 added in < 2 s.
import { performance } from 'node:perf_hooks';
import { applyGatewaySyncApi, createLitellmClient, planGatewaySync } from '../dist/index.js';
import { startFakeLitellm } from '../test/fake-litellm-api.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const LATENCY = Number(process.env.BENCH_LATENCY_MS ?? 20);
const SIZES = [1, 10, 50];
const TARGET_MS = 2000;

const desired = (n) =>
  Array.from({ length: n }, (_, i) => ({
    modelKey: `model-${i}`,
    name: `inference-model-${i}`, apiBase: `http://inference-model-${i}:8000/v1`,
    servedModelName: `org/model-${i % 20}`, // some load-balanced groups too
    ...(i % 3 === 0 ? { apiKey: `vllm-key-${i}` } : {}),
  }));

async function timedSync(client, wanted) {
  const t0 = performance.now();
  const changes = planGatewaySync(wanted, await client.modelInfo());
  const report = await applyGatewaySyncApi(changes, { client, verify: { timeoutMs: 10_000, intervalMs: 25 } });
  const ms = performance.now() - t0;
  if (!report.ok) throw new Error(`sync not ok: ${JSON.stringify({ failed: report.failed.length, pending: report.pending })}`);
  return { ms, changes: changes.length };
}

async function measure(n, latencyMs) {
  const add = [];
  const noop = [];
  const remove = [];
  for (let run = 0; run < RUNS; run++) {
    const fake = await startFakeLitellm({ masterKey: 'sk-bench', latencyMs });
    try {
      const client = createLitellmClient({ baseUrl: fake.url, masterKey: 'sk-bench' });
      const wanted = desired(n);
      const a = await timedSync(client, wanted);
      if (a.changes !== n) throw new Error(`expected ${n} adds, planned ${a.changes}`);
      add.push(a.ms);
      const b = await timedSync(client, wanted);
      if (b.changes !== 0) throw new Error(`second sync planned ${b.changes} changes`);
      noop.push(b.ms);
      remove.push((await timedSync(client, [])).ms);
      if (fake.models.length !== 0) throw new Error('models left after removing all');
    } finally {
      await fake.close();
    }
  }
  return { add: median(add), addMax: Math.max(...add), noop: median(noop), remove: median(remove) };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const fmt = (ms, width) => `${ms.toFixed(1)} ms`.padStart(width);

function table(title, rows) {
  console.log(`\n${title}`);
  console.log('models | add (median) |  add (max) | in sync (no-op) | remove all | target');
  console.log('-------|--------------|------------|-----------------|------------|---------');
  for (const [n, r] of rows) {
    const target = n === 50 ? (r.addMax < TARGET_MS ? 'ok < 2 s' : 'MISSED') : '';
    console.log(
      `${String(n).padStart(6)} | ${fmt(r.add, 12)} | ${fmt(r.addMax, 10)} | ${fmt(r.noop, 15)} | ${fmt(r.remove, 10)} | ${target}`.trimEnd(),
    );
  }
}

console.log(`litellm-sync API-mode benchmark: node ${process.version}, ${RUNS} runs each, fake LiteLLM on 127.0.0.1`);
let missed = false;
for (const latency of [0, LATENCY]) {
  const rows = [];
  for (const n of SIZES) rows.push([n, await measure(n, latency)]);
  table(latency === 0 ? 'fake proxy answering at once' : `fake proxy with ${latency} ms per request (DB write)`, rows);
  if (latency === 0) missed ||= rows.some(([n, r]) => n === 50 && r.addMax >= TARGET_MS);
}
process.exitCode = missed ? 1 : 0;
