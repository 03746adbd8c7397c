#!/usr/bin/env node
// Availability during changes: how many client requests fail while `serve up` applies a change.
// A project with three vLLM stand-ins (STANDIN_LOAD_DELAY a few seconds, a small token delay)
// behind the real LiteLLM gateway (managed, config-file sync; monitoring none). Closed-loop
// clients (test/support/traffic.mjs) send chat completions through the gateway to every model
// before, during and after each `serve up` of the built bin, for these scenarios in turn:
//
//   (a) add      a fourth model is added to models.yaml; its traffic starts once `up` returned
//   (b) remove   it is removed again; its traffic stops when `up` starts (what was in flight counts)
//   (c) change   a vLLM flag of a model changes (max-model-len): a rolling replacement, once
//                serve does those
//   (d) in place a flag of another model changes, and the change is forced to be applied in
//                place (see --in-place-*); the window serve announces on stderr (IN_PLACE_START
//                .. IN_PLACE_END below) is where failures of that model are expected
//
// In (b), (c) and (d) one long streaming request to the affected model is under way when `up`
// starts: "complete@N" means it got `data: [DONE]` after N chunks (drained), "cut@N" that it broke
// after N chunks, "error@N" that an error event came instead of the rest (then `[DONE]`).
// Per scenario it prints requests and failures of the unaffected models and of the affected one,
// for (d) the failures outside the announced window, and the distinct failure reasons. Exit 0
// whatever was measured (1 only when the stack could not be set up).
//
//   pnpm build && bash images/build.sh && node bench/availability.mjs [options]
//
//   --runs N              the four scenarios N times over (default 1)
//   --settle S            seconds of traffic before and after each `serve up` (default 4)
//   --concurrency N       closed-loop clients per model (default 2)
//   --stream              streaming requests (default plain)
//   --load-delay S        STANDIN_LOAD_DELAY of the models (default 3)
//   --token-delay-ms MS   STANDIN_TOKEN_DELAY_MS of the models (default 20)
//   --max-tokens N        max_tokens of each request (default 8)
//   --long-tokens N       tokens of the long request (default 200, ≈ N × token delay)
//   --request-timeout S   a client gives up on a request after S seconds (default 30)
//   --in-place-yaml TEXT  for (d): added to the model's entry, e.g. 'update: in-place'
//   --in-place-arg=ARG    for (d): an extra `serve up` argument (repeatable; with `=` for ARG starting with -)
//   --in-place-env K=V    for (d): an extra environment variable of `serve up` (repeatable)
//
// Everything it creates (containers, the network, the lock) carries the label
// inferstack.test=bench-<pid> and is removed at the end, also on Ctrl-C; the gateway gets a free
// port on 127.0.0.1, and the project lives in a temporary folder.
import { spawn, execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { longRequest, startTraffic } from '../test/support/traffic.mjs';

// serve up's stderr lines that open and close the in-place window of scenario (d). The first
// group is the model key. Adjust them here when the CLI's wording changes.
const IN_PLACE_START = /(\S+) +replacing in place/;
// The model is routed again (serve up says so once the new container serves): the end of its downtime.
const IN_PLACE_END = /✔ (\S+) +routed again/;

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '1' },
    settle: { type: 'string', default: '4' },
    concurrency: { type: 'string', default: '2' },
    stream: { type: 'boolean', default: false },
    'load-delay': { type: 'string', default: '3' },
    'token-delay-ms': { type: 'string', default: '20' },
    'max-tokens': { type: 'string', default: '8' },
    'long-tokens': { type: 'string', default: '200' },
    'request-timeout': { type: 'string', default: '30' },
    'in-place-yaml': { type: 'string' },
    'in-place-arg': { type: 'string', multiple: true, default: [] },
    'in-place-env': { type: 'string', multiple: true, default: [] },
  },
});
const whole = (name, min = 1) => {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} takes a whole number ≥ ${min}, not "${values[name]}"`);
  return n;
};
const RUNS = whole('runs');
const SETTLE_MS = whole('settle', 0) * 1000;
const CONCURRENCY = whole('concurrency');
const LOAD_DELAY = whole('load-delay', 0);
const TOKEN_DELAY_MS = whole('token-delay-ms', 0);
const MAX_TOKENS = whole('max-tokens');
const LONG_TOKENS = whole('long-tokens');
const REQUEST_TIMEOUT_MS = whole('request-timeout') * 1000;
const IN_PLACE_ENV = Object.fromEntries(
  values['in-place-env'].map((kv) => {
    const i = kv.indexOf('=');
    if (i < 1) throw new Error(`--in-place-env takes NAME=VALUE, not "${kv}"`);
    return [kv.slice(0, i), kv.slice(i + 1)];
  }),
);

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '..');
const CLI = join(root, 'packages/cli/dist/cli.js');
const STANDIN_IMAGE = 'inferstack-test/vllm-standin:latest';
const LITELLM_IMAGE = 'inferstack-test/litellm:1.108.14';
const LABEL = `inferstack.test=bench-${process.pid}`;
const tag = `b${process.pid}`;
const network = `inferstack-bench-${process.pid}`;
/** Deadline of one `serve up` (it has its own timeouts; this only keeps the bench bounded). */
const SERVE_DEADLINE_MS = 10 * 60_000;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (text) => process.stderr.write(`${text}\n`);

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

async function docker(...args) {
  return (await run('docker', args, { maxBuffer: 64 << 20, timeout: 120_000 })).stdout.trim();
}

// The project: a temporary folder with model_config/models.yaml and .env.
const dir = mkdtempSync(join(tmpdir(), 'inferstack-availability-'));
mkdirSync(join(dir, 'model_config'));
const masterKey = `sk-${randomBytes(24).toString('hex')}`;
const gatewayPort = await freePort();
const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
writeFileSync(join(dir, '.env'), `HUGGINGFACE_CACHE=${join(dir, 'hf')}\nLITELLM_MASTER_KEY=${masterKey}\n`, { mode: 0o600 });

const key = (n) => `${tag}-m${n}`;
/** Model entries by key: their max-model-len and any extra flow-map text. */
const models = new Map();
function writeConfig() {
  const lines = [
    `network: ${network}`,
    `gateway: {image: ${LITELLM_IMAGE}, container-name: ${tag}-litellm, port: ${gatewayPort}}`,
    'monitoring: {mode: none}',
    'defaults:',
    `  image: ${STANDIN_IMAGE}`,
    '  pull: never',
    `  env: {STANDIN_LOAD_DELAY: "${LOAD_DELAY}", STANDIN_TOKEN_DELAY_MS: "${TOKEN_DELAY_MS}"}`,
    'models:',
  ];
  for (const [k, m] of models) {
    // served-model-name = the key: the gateway routes that name, and serve's lines name the key.
    lines.push(`  - ${k}: {model: bench/${k}, gpus: none, served-model-name: ${k}, max-model-len: ${m.maxModelLen}${m.extra ? `, ${m.extra}` : ''}}`);
  }
  writeFileSync(join(dir, 'model_config', 'models.yaml'), `${lines.join('\n')}\n`);
}

let child;
/**
 * Run the built `serve` with the given arguments; every output line with the time it arrived.
 * Never rejects: the exit code is part of the result.
 */
let interrupted = false;
function serve(args, { env = {} } = {}) {
  return new Promise((res) => {
    const t0 = Date.now();
    const lines = [];
    // After Ctrl-C nothing new starts while the cleanup runs.
    if (interrupted) return res({ code: 130, start: t0, end: t0, lines });
    child = spawn(process.execPath, [CLI, ...args], {
      cwd: dir,
      env: { ...process.env, INFERSTACK_LABELS: LABEL, INFERSTACK_HASH_KEY: 'bench', NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [child.stdout, child.stderr]) {
      let buffer = '';
      stream.on('data', (d) => {
        buffer += d;
        let i;
        while ((i = buffer.indexOf('\n')) >= 0) {
          lines.push({ at: Date.now(), text: buffer.slice(0, i), stderr: stream === child.stderr });
          buffer = buffer.slice(i + 1);
        }
      });
    }
    const kill = setTimeout(() => child?.kill('SIGINT'), SERVE_DEADLINE_MS);
    child.on('close', (code, signal) => {
      clearTimeout(kill);
      child = undefined;
      res({ code: code ?? (signal ? 128 : 1), start: t0, end: Date.now(), lines });
    });
  });
}

let cleaned = false;
async function cleanup() {
  if (cleaned) return;
  cleaned = true;
  const ids = (await docker('ps', '-aq', '--filter', `label=${LABEL}`).catch(() => '')).split('\n').filter(Boolean);
  if (ids.length) await docker('rm', '-f', '-v', ...ids).catch((e) => log(`cleanup: ${e.message}`));
  const nets = (await docker('network', 'ls', '-q', '--filter', `label=${LABEL}`).catch(() => '')).split('\n').filter(Boolean);
  if (nets.length) await docker('network', 'rm', ...nets).catch((e) => log(`cleanup: ${e.message}`));
  rmSync(dir, { recursive: true, force: true });
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, async () => {
    interrupted = true;
    log(`\n${signal}: removing what the bench created...`);
    // serve got the same Ctrl-C from the terminal; give it a moment to remove its own work.
    const c = child;
    if (c) {
      c.kill('SIGINT');
      await Promise.race([new Promise((r) => c.once('close', r)), sleep(15_000)]);
    }
    await cleanup();
    process.exit(130);
  });
}

/** Wait until a chat completion to each model goes through the gateway (bounded). */
async function waitRouted(keys, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  for (const model of keys) {
    for (;;) {
      const r = await longRequest({ url: gatewayUrl, key: masterKey, model, tokens: 1, timeoutMs: 10_000 });
      if (r.complete) break;
      if (Date.now() > deadline) throw new Error(`${model} not answering through the gateway after ${timeoutMs} ms: ${r.error}`);
      await sleep(500);
    }
  }
}

const traffic = (keys) =>
  startTraffic({ url: gatewayUrl, key: masterKey, models: keys, concurrency: CONCURRENCY, stream: values.stream, maxTokens: MAX_TOKENS, timeoutMs: REQUEST_TIMEOUT_MS });

/**
 * The in-place window `serve up` announced for a model: from its first IN_PLACE_START line to the
 * first IN_PLACE_END line after that (undefined when either is missing).
 */
function announcedWindow(lines, model) {
  const from = lines.findIndex((l) => IN_PLACE_START.exec(l.text)?.[1] === model);
  if (from < 0) return undefined;
  const to = lines.findIndex((l, i) => i > from && IN_PLACE_END.exec(l.text)?.[1] === model);
  return to < 0 ? undefined : { from: lines[from].at, to: lines[to].at };
}

/** complete / error@N (an error event, then `[DONE]`) / cut@N (ended without `[DONE]`), N chunks. */
const longLabel = (r) => (r.complete ? `complete@${r.chunks}` : r.done ? `error@${r.chunks}` : `cut@${r.chunks}`);

/** Failure reasons with counts, most frequent first. */
function reasons(failures) {
  const counts = new Map();
  for (const f of failures) {
    // LiteLLM's JSON errors: their message says it, the wrapping does not.
    const message = /"message":\s*"((?:[^"\\]|\\.)*)/.exec(f.error)?.[1] ?? f.error;
    const text = `${f.status || 'no answer'}: ${message.replace(/\s+/g, ' ').slice(0, 160)}`;
    counts.set(text, (counts.get(text) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1]);
}

/**
 * One scenario: traffic to every model, `edit` models.yaml, long request to the affected model,
 * `serve up`, traffic for the settle time after. `affected` traffic runs throughout, only after
 * `up` (a model being added) or only before it (a model being removed).
 */
async function scenario({ name, affected, others, phase, edit, long, upArgs = [], env = {}, window: wantWindow = false }) {
  log(`\n— ${name}`);
  const rest = traffic(others);
  let mine = phase === 'after' ? undefined : traffic([affected]);
  await sleep(SETTLE_MS);
  edit();
  writeConfig();
  let longResult;
  if (long) {
    let started;
    const first = new Promise((r) => (started = r));
    longResult = longRequest({ url: gatewayUrl, key: masterKey, model: affected, tokens: LONG_TOKENS, timeoutMs: 120_000, onChunk: started });
    await Promise.race([first, longResult, sleep(10_000)]);
  }
  let mineReport;
  if (phase === 'before') mineReport = await mine.stop();
  const up = await serve(['up', ...upArgs], { env });
  for (const l of up.lines) log(`  ${l.stderr ? '' : '(stdout) '}${l.text}`);
  if (phase === 'after') mine = traffic([affected]);
  await sleep(SETTLE_MS);
  const [restReport, afterReport, longDone] = await Promise.all([rest.stop(), phase === 'before' ? mineReport : mine.stop(), longResult]);
  mineReport = afterReport;

  const window = wantWindow ? announcedWindow(up.lines, affected) : undefined;
  const affectedStats = mineReport.models[affected];
  const unaffected = Object.values(restReport.models).reduce((s, m) => ({ requests: s.requests + m.requests, failures: s.failures + m.failures }), { requests: 0, failures: 0 });
  const sec = (t) => {
    const v = Math.round((t - up.start) / 100) / 10;
    return `${(v === 0 ? 0 : v).toFixed(1)}s`;
  };
  const spanOf = (fs) => (fs.length ? `${sec(Math.min(...fs.map((f) => f.start)))}..${sec(Math.max(...fs.map((f) => f.end)))}` : '-');
  const result = {
    name,
    upCode: up.code,
    upMs: up.end - up.start,
    unaffected,
    unaffectedPerModel: restReport.models,
    unaffectedSpan: spanOf(restReport.failures),
    affected,
    affectedStats,
    affectedSpan: spanOf(mineReport.failures),
    long: longDone ? `${longLabel(longDone)} ${sec(longDone.end)}` : '-',
    longError: longDone && !longDone.complete ? longDone.error : '',
    window: wantWindow ? (window ? `${sec(window.from)}..${sec(window.to)}` : 'none announced') : '-',
    outside: wantWindow ? (window ? mineReport.failuresOutside(affected, window.from, window.to).length : affectedStats.failures) : undefined,
    reasons: { unaffected: reasons(restReport.failures), affected: reasons(mineReport.failures) },
  };
  log(`  unaffected: ${unaffected.failures}/${unaffected.requests} failed; ${affected}: ${affectedStats.failures}/${affectedStats.requests} failed; long request: ${result.long}`);
  return result;
}

const results = [];
let status = 0;
try {
  await docker('network', 'create', '--label', LABEL, network);
  for (const n of [1, 2, 3]) models.set(key(n), { maxModelLen: 4096 });
  writeConfig();
  log(`starting 3 stand-in models and the gateway (${LITELLM_IMAGE}) on ${gatewayUrl}...`);
  const first = await serve(['up']);
  for (const l of first.lines) log(`  ${l.text}`);
  if (first.code !== 0) throw new Error(`the first serve up exited ${first.code}:\n${first.lines.map((l) => l.text).join('\n')}`);
  await waitRouted([key(1), key(2), key(3)]);
  log(`ready after ${((first.end - first.start) / 1000).toFixed(1)} s`);
  // The long request must really be long through the gateway (LiteLLM passing vLLM's
  // ignore_eos/min_tokens on), or "complete" in the table would mean nothing.
  const probe = await longRequest({ url: gatewayUrl, key: masterKey, model: key(1), tokens: LONG_TOKENS, timeoutMs: 120_000 });
  const probeLine = `long request through the gateway, undisturbed: ${longLabel(probe)} in ${((probe.end - probe.start) / 1000).toFixed(1)} s`;
  log(probeLine);
  if (!probe.complete || probe.chunks < LONG_TOKENS) throw new Error(`${probeLine}: expected ${LONG_TOKENS} chunks and [DONE] (${probe.error})`);

  const flip = (k) => {
    const m = models.get(k);
    m.maxModelLen = m.maxModelLen === 4096 ? 8192 : 4096;
  };
  for (let r = 1; r <= RUNS; r++) {
    const tagRun = RUNS > 1 ? ` #${r}` : '';
    const base = [key(1), key(2), key(3)];
    results.push(
      await scenario({ name: `(a) add${tagRun}`, affected: key(4), others: base, phase: 'after', edit: () => models.set(key(4), { maxModelLen: 4096 }) }),
    );
    results.push(
      await scenario({ name: `(b) remove${tagRun}`, affected: key(4), others: base, phase: 'before', long: true, edit: () => models.delete(key(4)) }),
    );
    results.push(
      await scenario({ name: `(c) change${tagRun}`, affected: key(3), others: [key(1), key(2)], phase: 'throughout', long: true, edit: () => flip(key(3)) }),
    );
    results.push(
      await scenario({
        name: `(d) in place${tagRun}`,
        affected: key(2),
        others: [key(1), key(3)],
        phase: 'throughout',
        long: true,
        upArgs: values['in-place-arg'],
        env: IN_PLACE_ENV,
        window: true,
        edit: () => {
          flip(key(2));
          if (values['in-place-yaml']) models.get(key(2)).extra = values['in-place-yaml'];
        },
      }),
    );
    // Back to a plain entry, so the next run starts alike (this `up` is not measured).
    if (values['in-place-yaml'] && r < RUNS) {
      delete models.get(key(2)).extra;
      writeConfig();
      await serve(['up']);
      await waitRouted(base);
    }
  }

  // The table.
  const head = ['scenario', 'serve up', 'unaffected failed/requests', 'failing (s after up)', 'affected', 'failed/requests', 'failing (s after up)', 'long stream (ended, s after up)', 'in-place window', 'outside window'];
  const rows = [head];
  for (const x of results) {
    rows.push([
      x.name,
      `${(x.upMs / 1000).toFixed(1)}s${x.upCode ? ` exit ${x.upCode}` : ''}`,
      `${x.unaffected.failures}/${x.unaffected.requests}`,
      x.unaffectedSpan,
      x.affected,
      `${x.affectedStats.failures}/${x.affectedStats.requests}`,
      x.affectedSpan,
      x.long,
      x.window,
      x.outside === undefined ? '-' : String(x.outside),
    ]);
  }
  const widths = head.map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  console.log(
    `\navailability during changes: 3 stand-ins (load ${LOAD_DELAY}s, ${TOKEN_DELAY_MS} ms/token) behind ${LITELLM_IMAGE}; ` +
      `${CONCURRENCY} ${values.stream ? 'streaming' : 'plain'} clients per model, max_tokens ${MAX_TOKENS}, ${SETTLE_MS / 1000}s of traffic before and after each up; ` +
      `node ${process.version}, ${availableParallelism()} cores, load ${loadavg()[0].toFixed(2)}`,
  );
  rows.forEach((row, i) => {
    console.log(row.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd());
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  });
  console.log('\nper model (failed/requests, p50/p95/max latency of the successful ones):');
  const ms = (v) => (v === undefined ? '-' : `${Math.round(v)}`);
  for (const x of results) {
    const cells = Object.entries(x.unaffectedPerModel).map(([k, m]) => `${k} ${m.failures}/${m.requests} ${ms(m.latencyMs.p50)}/${ms(m.latencyMs.p95)}/${ms(m.latencyMs.max)} ms`);
    const a = x.affectedStats;
    cells.push(`${x.affected}* ${a.failures}/${a.requests} ${ms(a.latencyMs.p50)}/${ms(a.latencyMs.p95)}/${ms(a.latencyMs.max)} ms`);
    console.log(`  ${x.name}: ${cells.join(', ')}`);
  }
  console.log('\nwhy requests failed:');
  for (const x of results) {
    const all = [...x.reasons.unaffected.map(([t, n]) => ['unaffected', t, n]), ...x.reasons.affected.map(([t, n]) => [x.affected, t, n])];
    if (x.longError) all.push(['long stream', reasons([{ status: 200, error: x.longError }])[0][0], 1]);
    if (all.length === 0) continue;
    console.log(`  ${x.name}`);
    for (const [who, text, n] of all) console.log(`    ${String(n).padStart(4)} × ${who}: ${text}`);
  }
  console.log(`\n${probeLine}`);
  console.log(`* the affected model; the in-place window is where serve announced (${IN_PLACE_START} .. ${IN_PLACE_END}), from its stderr lines.`);
} catch (error) {
  log(`\nbench failed: ${error.stack ?? error}`);
  status = 1;
} finally {
  await cleanup();
}
process.exit(status);
