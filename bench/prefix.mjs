#!/usr/bin/env node
// Prefix routing: `routing: prefix` against `least-busy`, through the real LiteLLM gateway with
// inferstack's plugin, on two replicas of the vLLM stand-in that imitate vLLM's prefix caching
// (STANDIN_PREFILL_MS_PER_TOKEN: each prompt token not in the replica's prefix cache costs that
// much before the first token; a KV cache of STANDIN_KV_CACHE_TOKENS holds the cached blocks,
// least recently used out first). The workload is a chat over documents: each request is one of
// D long documents (as the system message) and a question, the documents in random order, C
// requests in flight. Each round benches both strategies one after the other (alternating which
// goes first), on documents no replica has seen, switching with `serve up` (the routing is not
// part of the containers: they stay). Per round: requests/s, p50/p95 latency, the prefix cache
// hit rate (vLLM's vllm:prefix_cache_hits_total over vllm:prefix_cache_queries_total, read from
// each replica), failed requests; and the ratios prefix : least-busy.
//
//   pnpm build && bash images/build.sh && node bench/prefix.mjs [options]
//
//   --rounds N              rounds (default 3)
//   --documents N           documents per bench (default 16)
//   --questions N           requests per document (default 8)
//   --document-tokens N     stand-in tokens per document (default 2000)
//   --concurrency N         requests in flight (default 8)
//   --kv-cache-tokens N     each replica's KV cache (default 24000: 12 documents)
//   --prefill-ms-per-token  STANDIN_PREFILL_MS_PER_TOKEN (default 0.5)
//   --json                  the rounds and the summary as JSON on stdout
//
// Everything it creates carries the label inferstack.test=bench-<pid> and is removed at the
// end, also on Ctrl-C; the gateway gets a free port on 127.0.0.1, the project a temporary folder.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { cleanUpOnInterrupt, dockerCli, freePort, log, median, serveIn, sweep, wholeOption } from './_support.mjs';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    documents: { type: 'string', default: '16' },
    questions: { type: 'string', default: '8' },
    'document-tokens': { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '8' },
    'kv-cache-tokens': { type: 'string', default: '24000' },
    'prefill-ms-per-token': { type: 'string', default: '0.5' },
    json: { type: 'boolean', default: false },
  },
});
const whole = (name, min = 1) => wholeOption(values, name, min);
const ROUNDS = whole('rounds');
const DOCUMENTS = whole('documents');
const QUESTIONS = whole('questions');
const DOCUMENT_TOKENS = whole('document-tokens');
const CONCURRENCY = whole('concurrency');
const KV_CACHE_TOKENS = whole('kv-cache-tokens', 16);
const PREFILL_MS = Number(values['prefill-ms-per-token']);
if (!(PREFILL_MS >= 0)) throw new Error(`--prefill-ms-per-token takes a number ≥ 0, not "${values['prefill-ms-per-token']}"`);

const root = resolve(import.meta.dirname, '..');
const CLI = join(root, 'packages/cli/dist/serve.cjs');
const STANDIN_IMAGE = 'inferstack-test/vllm-standin:latest';
const LITELLM_IMAGE = 'inferstack-test/litellm:1.108.14';
const LABEL = `inferstack.test=bench-${process.pid}`;
const tag = `p${process.pid}`;
const docker = dockerCli({ timeoutMs: 120_000 });

const dir = mkdtempSync(join(tmpdir(), 'inferstack-prefix-'));
mkdirSync(join(dir, 'model_config'));
const port = await freePort();
const masterKey = `sk-${randomBytes(24).toString('hex')}`;
writeFileSync(join(dir, '.env'), `HUGGINGFACE_CACHE=${join(dir, 'hf')}\nLITELLM_MASTER_KEY=${masterKey}\n`, { mode: 0o600 });
const model = `${tag}-m`;
const served = `served-${model}`;

function writeConfig(routing) {
  const text = [
    `network: inferstack-bench-${process.pid}`,
    `gateway: {image: ${LITELLM_IMAGE}, container-name: ${tag}-litellm, port: ${port}}`,
    'monitoring: {mode: none}',
    'models:',
    `  - ${model}:`,
    `      model: bench/${model}`,
    `      image: ${STANDIN_IMAGE}`,
    '      pull: never',
    '      gpus: none',
    `      served-model-name: ${served}`,
    '      max-model-len: 8192',
    '      max-num-seqs: 8',
    '      replicas: 2',
    `      routing: ${routing}`,
    `      env: {STANDIN_LOAD_DELAY: "1", STANDIN_RESPONSE_DELAY_MS: "20", STANDIN_PREFILL_MS_PER_TOKEN: "${PREFILL_MS}", STANDIN_KV_CACHE_TOKENS: "${KV_CACHE_TOKENS}"}`,
  ].join('\n');
  writeFileSync(join(dir, 'model_config', 'models.yaml'), `${text}\n`);
}

const { run: serve, child, stop } = serveIn({ cli: CLI, dir, label: LABEL });
const cleanup = async () => {
  await serve(['down', '--all', '--drain-timeout', '0']).catch(() => {});
  await sweep({ docker, label: LABEL, log }, dir);
};
cleanUpOnInterrupt({ log, child, cleanup, onSignal: stop });

async function upWith(routing) {
  writeConfig(routing);
  const up = await serve(['up']);
  if (up.code !== 0) throw new Error(`serve up (routing: ${routing}) failed:\n${up.stderr}`);
}

/** Each replica's prefix cache counters (vLLM's names), read inside its container. */
async function cacheCounters() {
  const ids = (await docker('ps', '-q', '--filter', `label=${LABEL}`, '--filter', `label=inference.model=${model}`)).split('\n').filter(Boolean);
  let queries = 0;
  let hits = 0;
  for (const id of ids) {
    const text = await docker('exec', id, 'node', '-e', "fetch('http://127.0.0.1:8000/metrics').then(r=>r.text()).then(t=>process.stdout.write(t))");
    const value = (name) => Number(new RegExp(`^${name}\\{[^}]*\\} ([0-9.e+]+)$`, 'm').exec(text)?.[1] ?? 0);
    queries += value('vllm:prefix_cache_queries_total');
    hits += value('vllm:prefix_cache_hits_total');
  }
  return { queries, hits };
}

/** One bench: every document's questions in random order, CONCURRENCY in flight. */
async function benchOnce(routing, round) {
  const salt = randomBytes(4).toString('hex');
  const documents = Array.from({ length: DOCUMENTS }, (_, d) => Array.from({ length: DOCUMENT_TOKENS }, (_, i) => `r${round}${salt}d${d}w${i}`).join(' '));
  const work = documents.flatMap((document, d) => Array.from({ length: QUESTIONS }, (_, q) => ({ document, question: `question ${q} about document ${d}?` })));
  for (let i = work.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [work[i], work[j]] = [work[j], work[i]];
  }
  const before = await cacheCounters();
  const latencies = [];
  let failed = 0;
  let next = 0;
  const started = Date.now();
  const client = async () => {
    while (next < work.length) {
      const { document, question } = work[next++];
      const t0 = Date.now();
      try {
        const r = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${masterKey}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: served, messages: [{ role: 'system', content: document }, { role: 'user', content: question }], max_tokens: 8 }),
          signal: AbortSignal.timeout(120_000),
        });
        await r.json();
        if (r.status === 200) latencies.push(Date.now() - t0);
        else failed++;
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, client));
  const seconds = (Date.now() - started) / 1000;
  const after = await cacheCounters();
  const sorted = latencies.sort((a, b) => a - b);
  const pct = (p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
  return {
    round,
    routing,
    requests: work.length,
    failed,
    requestsPerSecond: latencies.length / seconds,
    latencyMs: { p50: pct(50), p95: pct(95) },
    hitRate: (after.hits - before.hits) / Math.max(1, after.queries - before.queries),
  };
}

const rows = [];
try {
  for (let round = 1; round <= ROUNDS; round++) {
    const order = round % 2 === 1 ? ['least-busy', 'prefix'] : ['prefix', 'least-busy'];
    for (const routing of order) {
      await upWith(routing);
      const b = await benchOnce(routing, round);
      rows.push(b);
      log(
        `round ${round}  ${routing.padEnd(10)}: ${b.requests - b.failed}/${b.requests} ok, ${b.requestsPerSecond.toFixed(2)} req/s, ` +
          `latency p50 ${b.latencyMs.p50} ms p95 ${b.latencyMs.p95} ms, prefix cache hits ${(b.hitRate * 100).toFixed(1)}%  (load ${loadavg()[0].toFixed(1)})`,
      );
    }
  }
} finally {
  await cleanup();
}

const ratios = [];
for (let round = 1; round <= ROUNDS; round++) {
  const lb = rows.find((r) => r.round === round && r.routing === 'least-busy');
  const px = rows.find((r) => r.round === round && r.routing === 'prefix');
  ratios.push({ round, throughput: px.requestsPerSecond / lb.requestsPerSecond, p50: px.latencyMs.p50 / lb.latencyMs.p50, p95: px.latencyMs.p95 / lb.latencyMs.p95 });
}
const of = (routing, f) => rows.filter((r) => r.routing === routing).map(f);
const summary = {
  settings: { rounds: ROUNDS, documents: DOCUMENTS, questions: QUESTIONS, documentTokens: DOCUMENT_TOKENS, concurrency: CONCURRENCY, kvCacheTokens: KV_CACHE_TOKENS, prefillMsPerToken: PREFILL_MS },
  hitRate: { leastBusy: median(of('least-busy', (r) => r.hitRate)), prefix: median(of('prefix', (r) => r.hitRate)) },
  failed: { leastBusy: of('least-busy', (r) => r.failed).reduce((a, b) => a + b, 0), prefix: of('prefix', (r) => r.failed).reduce((a, b) => a + b, 0) },
  throughputRatio: { median: median(ratios.map((r) => r.throughput)), rounds: ratios.map((r) => Number(r.throughput.toFixed(2))) },
  p50LatencyRatio: { median: median(ratios.map((r) => r.p50)), rounds: ratios.map((r) => Number(r.p50.toFixed(2))) },
  p95LatencyRatio: { median: median(ratios.map((r) => r.p95)), rounds: ratios.map((r) => Number(r.p95.toFixed(2))) },
};
if (values.json) process.stdout.write(`${JSON.stringify({ rows, summary }, null, 2)}\n`);
else {
  log('');
  log(
    `prefix : least-busy, median over ${ROUNDS} round(s): throughput ${summary.throughputRatio.median.toFixed(2)}× (${summary.throughputRatio.rounds.join(', ')}), ` +
      `p50 latency ${summary.p50LatencyRatio.median.toFixed(2)}× (${summary.p50LatencyRatio.rounds.join(', ')}), p95 latency ${summary.p95LatencyRatio.median.toFixed(2)}× (${summary.p95LatencyRatio.rounds.join(', ')})`,
  );
  log(`prefix cache hits: ${(summary.hitRate.leastBusy * 100).toFixed(1)}% with least-busy, ${(summary.hitRate.prefix * 100).toFixed(1)}% with prefix; failed requests: ${summary.failed.leastBusy} and ${summary.failed.prefix}`);
}
