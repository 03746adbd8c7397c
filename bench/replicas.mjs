#!/usr/bin/env node
// Capacity: one replica against two, through the real LiteLLM gateway, measured with
// `serve bench --json`. One model of the vLLM stand-in, limited to --max-num-seqs concurrent
// requests (the others wait in its queue, as in vLLM) and a fixed time per request
// (STANDIN_RESPONSE_DELAY_MS to the first token, STANDIN_TOKEN_DELAY_MS between tokens). The
// same stack goes from `replicas: 1` to `replicas: 2` and back with `serve up`, and each round
// benches both counts one after the other (1, 2, then 2, 1, ...) so that the machine's load
// falls on both alike. Per round and over the rounds: requests/s, output tokens/s, p50/p95
// latency and time to first token, failed requests, and the ratio 2 : 1 of each.
//
//   pnpm build && bash images/build.sh && node bench/replicas.mjs [options]
//
//   --rounds N            rounds (default 3)
//   --requests N          requests per bench (default 200)
//   --concurrency N       requests in flight (default 16)
//   --max-num-seqs N      the stand-in's --max-num-seqs (default 4)
//   --response-delay-ms   STANDIN_RESPONSE_DELAY_MS (default 200)
//   --token-delay-ms      STANDIN_TOKEN_DELAY_MS (default 10)
//   --max-tokens N        max_tokens of each request (default 16)
//   --json                the rounds and the summary as JSON on stdout
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
    requests: { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '16' },
    'max-num-seqs': { type: 'string', default: '4' },
    'response-delay-ms': { type: 'string', default: '200' },
    'token-delay-ms': { type: 'string', default: '10' },
    'max-tokens': { type: 'string', default: '16' },
    json: { type: 'boolean', default: false },
  },
});
const whole = (name, min = 1) => wholeOption(values, name, min);
const ROUNDS = whole('rounds');
const REQUESTS = whole('requests');
const CONCURRENCY = whole('concurrency');
const MAX_NUM_SEQS = whole('max-num-seqs');
const RESPONSE_DELAY_MS = whole('response-delay-ms', 0);
const TOKEN_DELAY_MS = whole('token-delay-ms', 0);
const MAX_TOKENS = whole('max-tokens');

const root = resolve(import.meta.dirname, '..');
const CLI = join(root, 'packages/cli/dist/serve.cjs');
const STANDIN_IMAGE = 'inferstack-test/vllm-standin:latest';
const LITELLM_IMAGE = 'inferstack-test/litellm:1.108.14';
const LABEL = `inferstack.test=bench-${process.pid}`;
const tag = `r${process.pid}`;
const docker = dockerCli({ timeoutMs: 120_000 });


const dir = mkdtempSync(join(tmpdir(), 'inferstack-replicas-'));
mkdirSync(join(dir, 'model_config'));
const port = await freePort();
writeFileSync(join(dir, '.env'), `HUGGINGFACE_CACHE=${join(dir, 'hf')}\nLITELLM_MASTER_KEY=sk-${randomBytes(24).toString('hex')}\n`, { mode: 0o600 });
const model = `${tag}-m`;

function writeConfig(replicas) {
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
    `      max-num-seqs: ${MAX_NUM_SEQS}`,
    `      replicas: ${replicas}`,
    `      env: {STANDIN_LOAD_DELAY: "1", STANDIN_RESPONSE_DELAY_MS: "${RESPONSE_DELAY_MS}", STANDIN_TOKEN_DELAY_MS: "${TOKEN_DELAY_MS}"}`,
  ].join('\n');
  writeFileSync(join(dir, 'model_config', 'models.yaml'), `${text}\n`);
}

const { run: serve, child, stop } = serveIn({ cli: CLI, dir, label: LABEL });

const cleanup = async () => {
  await serve(['down', '--all', '--drain-timeout', '0']).catch(() => {});
  await sweep({ docker, label: LABEL, log }, dir);
};
cleanUpOnInterrupt({ log, child, cleanup, onSignal: stop });

async function upWith(replicas) {
  writeConfig(replicas);
  const up = await serve(['up']);
  if (up.code !== 0) throw new Error(`serve up (replicas: ${replicas}) failed:\n${up.stderr}`);
}

async function benchOnce(replicas) {
  const r = await serve(['bench', model, '--requests', String(REQUESTS), '--concurrency', String(CONCURRENCY), '--json']);
  if (!r.stdout.trim().startsWith('{')) throw new Error(`serve bench failed (exit ${r.code}):\n${r.stderr}`);
  const b = JSON.parse(r.stdout);
  return { ...b, count: replicas };
}

const rows = [];
try {
  for (let round = 1; round <= ROUNDS; round++) {
    const order = round % 2 === 1 ? [1, 2] : [2, 1];
    for (const replicas of order) {
      await upWith(replicas);
      const b = await benchOnce(replicas);
      rows.push({ round, ...b });
      log(
        `round ${round}  replicas ${replicas}: ${b.ok}/${b.requests} ok, ${b.requestsPerSecond.toFixed(2)} req/s, ${b.outputTokensPerSecond.toFixed(1)} tok/s, ` +
          `latency p50 ${b.latencyMs.p50} ms p95 ${b.latencyMs.p95} ms, ttft p95 ${b.ttftMs.p95} ms, by replica ${b.replicas.map((x) => `${x.replica}:${x.requests}`).join(' ')}  (load ${loadavg()[0].toFixed(1)})`,
      );
    }
  }
} finally {
  await cleanup();
}

const of = (n, f) => rows.filter((r) => r.count === n).map(f);
const ratios = [];
for (let round = 1; round <= ROUNDS; round++) {
  const one = rows.find((r) => r.round === round && r.count === 1);
  const two = rows.find((r) => r.round === round && r.count === 2);
  ratios.push({ round, throughput: two.requestsPerSecond / one.requestsPerSecond, p95: two.latencyMs.p95 / one.latencyMs.p95 });
}
const summary = {
  settings: { rounds: ROUNDS, requests: REQUESTS, concurrency: CONCURRENCY, maxNumSeqs: MAX_NUM_SEQS, responseDelayMs: RESPONSE_DELAY_MS, tokenDelayMs: TOKEN_DELAY_MS, maxTokens: MAX_TOKENS },
  oneReplica: { requestsPerSecond: median(of(1, (r) => r.requestsPerSecond)), p95LatencyMs: median(of(1, (r) => r.latencyMs.p95)), failed: of(1, (r) => r.failed).reduce((a, b) => a + b, 0) },
  twoReplicas: { requestsPerSecond: median(of(2, (r) => r.requestsPerSecond)), p95LatencyMs: median(of(2, (r) => r.latencyMs.p95)), failed: of(2, (r) => r.failed).reduce((a, b) => a + b, 0) },
  throughputRatio: { median: median(ratios.map((r) => r.throughput)), rounds: ratios.map((r) => Number(r.throughput.toFixed(2))) },
  p95LatencyRatio: { median: median(ratios.map((r) => r.p95)), rounds: ratios.map((r) => Number(r.p95.toFixed(2))) },
};
if (values.json) process.stdout.write(`${JSON.stringify({ rows, summary }, null, 2)}\n`);
else {
  log('');
  log(`2 replicas : 1, median over ${ROUNDS} round(s): throughput ${summary.throughputRatio.median.toFixed(2)}× (${summary.throughputRatio.rounds.join(', ')}), p95 latency ${summary.p95LatencyRatio.median.toFixed(2)}× (${summary.p95LatencyRatio.rounds.join(', ')})`);
  log(`failed requests: ${summary.oneReplica.failed} with 1 replica, ${summary.twoReplicas.failed} with 2`);
}
