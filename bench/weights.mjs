#!/usr/bin/env node
// What pulling first saves on a rolling replacement: the time from `serve up` (after a change of
// the model) to the new container routed in the real LiteLLM gateway, with the weights not in the
// cache (vLLM downloads them inside the new container, `pull: never`, as before serve pull) against
// a warm cache (`serve pull` ran beforehand; `up` then starts the new container offline). The Hub
// is the Hub stand-in (images/hf-hub-standin) at a limited rate on the stack's network; the model
// is the vLLM stand-in, which downloads as vLLM does (STANDIN_DOWNLOAD=1) and then loads for
// STANDIN_LOAD_DELAY. Each round changes the cache directory to an empty one (the change that
// makes the replacement) and measures both, alternating which goes first.
//
//   pnpm build && bash images/build.sh && node bench/weights.mjs [options]
//
//   --rounds N        rounds (default 3)
//   --size-mb N       the model's weights, in MB (default 400)
//   --rate-mb N       the Hub's rate, MB/s (default 100)
//   --load-delay S    the stand-in's loading time (default 2)
//   --json            the rounds and the summary as JSON on stdout
//
// Everything it creates carries the label inferstack.test=bench-<pid> and is removed at the end,
// also on Ctrl-C (the caches it made too).
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { cleanUpOnInterrupt, dockerCli, freePort, log, median, serveIn, sweep, wholeOption } from './_support.mjs';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    'size-mb': { type: 'string', default: '400' },
    'rate-mb': { type: 'string', default: '100' },
    'load-delay': { type: 'string', default: '2' },
    json: { type: 'boolean', default: false },
  },
});
const whole = (name, min = 1) => wholeOption(values, name, min);
const ROUNDS = whole('rounds');
const SIZE_MB = whole('size-mb');
const RATE_MB = whole('rate-mb');
const LOAD_DELAY = whole('load-delay', 0);

const root = resolve(import.meta.dirname, '..');
const CLI = join(root, 'packages/cli/dist/serve.cjs');
const STANDIN_IMAGE = 'inferstack-test/vllm-standin:latest';
const LITELLM_IMAGE = 'inferstack-test/litellm:1.108.14';
const HUB_IMAGE = 'inferstack-test/hf-hub-standin:latest';
const PULLER_IMAGE = 'inferstack-test/hf-puller:2.4.0';
const LABEL = `inferstack.test=bench-${process.pid}`;
const tag = `w${process.pid}`;
const network = `inferstack-bench-${process.pid}`;
const docker = dockerCli({ timeoutMs: 300_000 });

const dir = mkdtempSync(join(tmpdir(), 'inferstack-weights-'));
mkdirSync(join(dir, 'model_config'));
const port = await freePort();
// The default vLLM image (the client `serve pull` falls back to) is the puller image: the stand-in has no client.
const envFile = (cache) =>
  writeFileSync(join(dir, '.env'), `HUGGINGFACE_CACHE=${cache}\nLITELLM_MASTER_KEY=sk-${randomBytes(24).toString('hex')}\nVLLM_IMAGE=${PULLER_IMAGE}\n`, { mode: 0o600 });
const model = `${tag}-m`;

function writeConfig(policy) {
  const text = [
    `network: ${network}`,
    `gateway: {image: ${LITELLM_IMAGE}, container-name: ${tag}-litellm, port: ${port}}`,
    'monitoring: {mode: none}',
    'models:',
    `  - ${model}:`,
    '      model: org/model',
    `      image: ${STANDIN_IMAGE}`,
    `      pull: ${policy}`,
    '      gpus: none',
    `      env: {HF_ENDPOINT: "http://hf-hub:8080", STANDIN_DOWNLOAD: "1", STANDIN_LOAD_DELAY: "${LOAD_DELAY}"}`,
  ].join('\n');
  writeFileSync(join(dir, 'model_config', 'models.yaml'), `${text}\n`);
}

const { run: serve, child, stop } = serveIn({ cli: CLI, dir, label: LABEL });
const cleanup = async () => {
  await serve(['down', '--all', '--drain-timeout', '0']).catch(() => {});
  await sweep({ docker, label: LABEL, log });
  // The caches were written by containers (root): removed by one.
  await docker('run', '--rm', '-v', `${dir}:/d`, '--entrypoint', 'rm', STANDIN_IMAGE, '-rf', '/d/caches').catch(() => {});
  await sweep({ docker, label: LABEL, log }, dir);
};
cleanUpOnInterrupt({ log, child, cleanup, onSignal: stop });

const half = Math.floor((SIZE_MB * 1e6) / 2);
const description = {
  rate: RATE_MB * 1e6,
  repos: {
    'org/model': {
      files: {
        'config.json': { json: { architectures: ['Qwen3ForCausalLM'], model_type: 'qwen3' } },
        'model.safetensors.index.json': { json: { metadata: {}, weight_map: { a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors' } } },
        'model-00001-of-00002.safetensors': half,
        'model-00002-of-00002.safetensors': half,
        'tokenizer.json': 1_000_000,
        'tokenizer_config.json': { json: {} },
      },
    },
  },
};

let caches = 0;
const freshCache = () => {
  const path = join(dir, 'caches', String(++caches));
  mkdirSync(path, { recursive: true });
  return path;
};

/** Seconds of one `serve up` that replaces the model (a new, empty cache directory), and its output. */
async function timedUp() {
  const t0 = Date.now();
  const up = await serve(['up']);
  if (up.code !== 0) throw new Error(`serve up failed:\n${up.stderr}`);
  return { seconds: (Date.now() - t0) / 1000, stderr: up.stderr };
}

const rows = [];
try {
  await docker('network', 'create', '--label', LABEL, network);
  await docker('run', '-d', '--name', `${tag}-hub`, '--label', LABEL, '--network', network, '--network-alias', 'hf-hub', '--network-alias', 'hf-hub-cdn',
    '-e', `HUB_STANDIN_REPOS=${JSON.stringify(description)}`, '-e', 'HUB_STANDIN_CDN_ORIGIN=http://hf-hub-cdn:8081', HUB_IMAGE);
  for (let i = 0; i < 120; i++) {
    const ready = await docker('exec', `${tag}-hub`, 'node', '-e', "fetch('http://127.0.0.1:8080/_standin/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))").then(() => true, () => false);
    if (ready) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  // The first start (not measured): the gateway and the model up.
  envFile(freshCache());
  writeConfig('never');
  await timedUp();
  for (let round = 1; round <= ROUNDS; round++) {
    const order = round % 2 === 1 ? ['cold', 'warm'] : ['warm', 'cold'];
    for (const cache of order) {
      const path = freshCache();
      envFile(path);
      let pullSeconds = null;
      if (cache === 'warm') {
        writeConfig('missing');
        const t0 = Date.now();
        const pulled = await serve(['pull']);
        if (pulled.code !== 0) throw new Error(`serve pull failed:\n${pulled.stderr}`);
        pullSeconds = (Date.now() - t0) / 1000;
      } else {
        writeConfig('never');
      }
      const { seconds, stderr } = await timedUp();
      const downloaded = /Time spent downloading weights/.test(await docker('logs', `inference-${model}`).catch(() => ''));
      rows.push({ round, cache, upSeconds: seconds, pullSeconds, downloadedInContainer: downloaded, offline: /HF_HUB_OFFLINE=1/.test(await docker('inspect', '-f', '{{json .Config.Env}}', `inference-${model}`)) });
      log(`round ${round}  ${cache}: up (replacement routed) ${seconds.toFixed(1)} s${pullSeconds !== null ? `, serve pull before it ${pullSeconds.toFixed(1)} s` : ''}; downloaded in the container: ${downloaded ? 'yes' : 'no'}  (load ${loadavg()[0].toFixed(1)})`);
      void stderr;
    }
  }
} finally {
  await cleanup();
}

const ratios = [];
for (let round = 1; round <= ROUNDS; round++) {
  const cold = rows.find((r) => r.round === round && r.cache === 'cold');
  const warm = rows.find((r) => r.round === round && r.cache === 'warm');
  ratios.push(warm.upSeconds / cold.upSeconds);
}
const summary = {
  settings: { rounds: ROUNDS, sizeMB: SIZE_MB, rateMBps: RATE_MB, loadDelaySeconds: LOAD_DELAY },
  coldUpSeconds: median(rows.filter((r) => r.cache === 'cold').map((r) => r.upSeconds)),
  warmUpSeconds: median(rows.filter((r) => r.cache === 'warm').map((r) => r.upSeconds)),
  pullSeconds: median(rows.filter((r) => r.cache === 'warm').map((r) => r.pullSeconds)),
  warmToColdRatio: { median: median(ratios), rounds: ratios.map((r) => Number(r.toFixed(2))) },
};
if (values.json) process.stdout.write(`${JSON.stringify({ rows, summary }, null, 2)}\n`);
else {
  log('');
  log(`replacement routed, warm : cold cache, median over ${ROUNDS} round(s): ${summary.warmToColdRatio.median.toFixed(2)}× (${summary.warmToColdRatio.rounds.join(', ')}); cold ${summary.coldUpSeconds.toFixed(1)} s, warm ${summary.warmUpSeconds.toFixed(1)} s (serve pull beforehand: ${summary.pullSeconds.toFixed(1)} s)`);
}
