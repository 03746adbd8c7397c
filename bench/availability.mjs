#!/usr/bin/env node
// Availability during changes: how many client requests fail while `serve up` applies a change.
// A project with three vLLM stand-ins (STANDIN_LOAD_DELAY a few seconds, a small token delay)
// behind the real LiteLLM gateway (managed, config-file sync; monitoring none). Closed-loop
// clients (test/support/traffic.mjs) send chat completions through the gateway to every model
// before, during and after each `serve up`, for these scenarios in turn:
//
//   (a) add      a fourth model is added to models.yaml; its traffic starts once `up` returned
//   (b) remove   it is removed again; its traffic stops when `up` starts (what was in flight counts)
//   (c) change   a vLLM flag of a model changes (max-model-len): a rolling replacement
//   (d) in place a flag of another model changes, and the change is applied in place
//                (`replace: in-place` by default, see --in-place-*); the window serve announces on
//                stderr (IN_PLACE_START .. IN_PLACE_END below) is where failures of that model are
//                expected
//
// Two kinds of clients, each optional: pooled ones (--concurrency per model, sharing one
// keep-alive pool) and keep-alive ones (--keep-alive per model: each keeps one connection of its
// own, as an OpenAI SDK client does). Neither ever sends a request twice: a connection reset
// under a request is a failure. Every answer is checked for the model it came from (the stand-in
// answers "Hello from <served name>!"): "wrong" counts answers from another model.
//
// Several builds side by side: --serve names the `serve` of each (a checkout, or its
// packages/cli/dist/serve.cjs). Each run measures every build on a stack of its own, made for it and
// removed after it, the builds interleaved (run 1 A then B, run 2 B then A, ...), so that the
// machine's load falls on both alike.
//
// In (b), (c) and (d) one long streaming request to the affected model is under way when `up`
// starts: "complete@N" means it got `data: [DONE]` after N chunks (drained), "cut@N" that it broke
// after N chunks, "error@N" that an error event came instead of the rest (then `[DONE]`).
// Per scenario it prints requests and failures of the unaffected models and of the affected one
// for each kind of client, for (d) the failures outside the announced window, the answers from
// a wrong model, the distinct failure reasons, and a summary per build over the runs. Exit 0
// whatever was measured (1 only when a stack could not be set up).
//
//   pnpm build && bash images/build.sh && node bench/availability.mjs [options]
//
//   --serve [NAME=]PATH   a build to measure (repeatable; default this checkout); PATH is a
//                         checkout (its packages/cli/dist/serve.cjs) or a cli.js; NAME labels it
//   --runs N              the four scenarios N times over, per build (default 1)
//   --settle S            seconds of traffic before and after each `serve up` (default 4)
//   --concurrency N       pooled closed-loop clients per model (default 2; 0 for none)
//   --keep-alive N        keep-alive clients per model, one connection each (default 0)
//   --stream              streaming requests (default plain)
//   --load-delay S        STANDIN_LOAD_DELAY of the models (default 3)
//   --token-delay-ms MS   STANDIN_TOKEN_DELAY_MS of the models (default 20)
//   --max-tokens N        max_tokens of each request (default 8: the stand-in's greeting fits)
//   --long-tokens N       tokens of the long request (default 200, ≈ N × token delay)
//   --request-timeout S   a client gives up on a request after S seconds (default 30)
//   --in-place-yaml TEXT  for (d): added to the model's entry (default 'replace: in-place')
//   --in-place-arg=ARG    for (d): an extra `serve up` argument (repeatable; with `=` for ARG starting with -)
//   --in-place-env K=V    for (d): an extra environment variable of `serve up` (repeatable)
//
// Everything it creates (containers, networks, volumes, the lock) carries the label
// inferstack.test=bench-<pid> and is removed after each stack and at the end, also on Ctrl-C;
// each gateway gets a free port on 127.0.0.1, each project a temporary folder.
import { spawn, execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { buildsFrom, cleanUpOnInterrupt, freePort, sweep as sweepLabelled } from './_support.mjs';
import { longRequest, startTraffic } from '../test/support/traffic.mjs';

// serve up's stderr lines that open and close the in-place window of scenario (d). The first
// group is the model key. Adjust them here when the CLI's wording changes.
const IN_PLACE_START = /(\S+) +replacing in place/;
// The model is routed again (serve up says so once the new container serves): the end of its downtime.
const IN_PLACE_END = /✔ (\S+) +routed again/;

const { values } = parseArgs({
  options: {
    serve: { type: 'string', multiple: true, default: [] },
    runs: { type: 'string', default: '1' },
    settle: { type: 'string', default: '4' },
    concurrency: { type: 'string', default: '2' },
    'keep-alive': { type: 'string', default: '0' },
    stream: { type: 'boolean', default: false },
    'load-delay': { type: 'string', default: '3' },
    'token-delay-ms': { type: 'string', default: '20' },
    'max-tokens': { type: 'string', default: '8' },
    'long-tokens': { type: 'string', default: '200' },
    'request-timeout': { type: 'string', default: '30' },
    'in-place-yaml': { type: 'string', default: 'replace: in-place' },
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
const CONCURRENCY = whole('concurrency', 0);
const KEEP_ALIVE = whole('keep-alive', 0);
if (CONCURRENCY + KEEP_ALIVE === 0) throw new Error('--concurrency and --keep-alive are both 0: no client would send anything');
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

const BUILDS = buildsFrom(values.serve, root);

const STANDIN_IMAGE = 'inferstack-test/vllm-standin:latest';
const LITELLM_IMAGE = 'inferstack-test/litellm:1.108.14';
const LABEL = `inferstack.test=bench-${process.pid}`;
const tag = `b${process.pid}`;
/** Deadline of one `serve up` (it has its own timeouts; this only keeps the bench bounded). */
const SERVE_DEADLINE_MS = 10 * 60_000;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (text) => process.stderr.write(`${text}\n`);


async function docker(...args) {
  return (await run('docker', args, { maxBuffer: 64 << 20, timeout: 120_000 })).stdout.trim();
}

const key = (n) => `${tag}-m${n}`;

/** One stack of one build: a temporary project folder, its network and gateway port. */
async function makeStack(build, n) {
  const dir = mkdtempSync(join(tmpdir(), 'inferstack-availability-'));
  mkdirSync(join(dir, 'model_config'));
  const masterKey = `sk-${randomBytes(24).toString('hex')}`;
  const port = await freePort();
  writeFileSync(join(dir, '.env'), `HUGGINGFACE_CACHE=${join(dir, 'hf')}\nLITELLM_MASTER_KEY=${masterKey}\n`, { mode: 0o600 });
  return {
    build,
    dir,
    masterKey,
    gatewayUrl: `http://127.0.0.1:${port}`,
    port,
    network: `inferstack-bench-${process.pid}-${n}`,
    /** Model entries by key: their max-model-len and any extra flow-map text. */
    models: new Map(),
  };
}

function writeConfig(stack) {
  const lines = [
    `network: ${stack.network}`,
    `gateway: {image: ${LITELLM_IMAGE}, container-name: ${tag}-litellm, port: ${stack.port}}`,
    'monitoring: {mode: none}',
    'defaults:',
    `  image: ${STANDIN_IMAGE}`,
    '  pull: never',
    `  env: {STANDIN_LOAD_DELAY: "${LOAD_DELAY}", STANDIN_TOKEN_DELAY_MS: "${TOKEN_DELAY_MS}"}`,
    'models:',
  ];
  for (const [k, m] of stack.models) {
    // served-model-name = the key: the gateway routes that name, and serve's lines name the key.
    lines.push(`  - ${k}: {model: bench/${k}, gpus: none, served-model-name: ${k}, max-model-len: ${m.maxModelLen}${m.extra ? `, ${m.extra}` : ''}}`);
  }
  writeFileSync(join(stack.dir, 'model_config', 'models.yaml'), `${lines.join('\n')}\n`);
}

let child;
let interrupted = false;
/**
 * Run a build's `serve` in a stack's folder; every output line with the time it arrived.
 * Never rejects: the exit code is part of the result.
 */
function serve(stack, args, { env = {} } = {}) {
  return new Promise((res) => {
    const t0 = Date.now();
    const lines = [];
    // After Ctrl-C nothing new starts while the cleanup runs.
    if (interrupted) return res({ code: 130, start: t0, end: t0, lines });
    child = spawn(process.execPath, [stack.build.cli, ...args], {
      cwd: stack.dir,
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

/** Remove everything carrying the bench's label, and a folder. */
const sweep = (dir) => sweepLabelled({ docker, label: LABEL, log }, dir);

let current;
cleanUpOnInterrupt({ log, child: () => child, cleanup: () => sweep(current?.dir), onSignal: () => { interrupted = true; } });

/** Wait until a chat completion to each model goes through the gateway (bounded). */
async function waitRouted(stack, keys, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  for (const model of keys) {
    for (;;) {
      const r = await longRequest({ url: stack.gatewayUrl, key: stack.masterKey, model, tokens: 1, timeoutMs: 10_000 });
      if (r.complete) break;
      if (Date.now() > deadline) throw new Error(`${model} not answering through the gateway after ${timeoutMs} ms: ${r.error}`);
      await sleep(500);
    }
  }
}

/** Both kinds of clients for some models; `stop()` gives a report per kind (undefined for none). */
function traffic(stack, keys) {
  const common = { url: stack.gatewayUrl, key: stack.masterKey, models: keys, stream: values.stream, maxTokens: MAX_TOKENS, timeoutMs: REQUEST_TIMEOUT_MS };
  const pooled = CONCURRENCY ? startTraffic({ ...common, concurrency: CONCURRENCY }) : undefined;
  const keepAlive = KEEP_ALIVE ? startTraffic({ ...common, concurrency: KEEP_ALIVE, ownConnection: true }) : undefined;
  return {
    async stop() {
      const [p, k] = await Promise.all([pooled?.stop(), keepAlive?.stop()]);
      return { pooled: p, keepAlive: k };
    },
  };
}

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
    // No answer on a connection that had carried requests before: a kept-alive connection reset.
    const where = !f.status && f.reused ? ' (on a reused connection)' : '';
    const text = `${f.status || 'no answer'}${where}: ${message.replace(/\s+/g, ' ').slice(0, 160)}`;
    counts.set(text, (counts.get(text) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1]);
}

const none = () => ({ requests: 0, failures: 0, wrong: 0, unnamed: 0 });
/** Requests, failures and answers from a wrong model (or none named) of some models of a report. */
function tally(report, keys) {
  const t = none();
  for (const k of keys) {
    const m = report?.models[k];
    if (!m) continue;
    t.requests += m.requests;
    t.failures += m.failures;
    t.wrong += m.wrongModel;
    t.unnamed += m.unnamed;
  }
  return t;
}
const add = (a, b) => ({ requests: a.requests + b.requests, failures: a.failures + b.failures, wrong: a.wrong + b.wrong, unnamed: a.unnamed + b.unnamed });

/**
 * One scenario: traffic to every model, `edit` models.yaml, long request to the affected model,
 * `serve up`, traffic for the settle time after. `affected` traffic runs throughout, only after
 * `up` (a model being added) or only before it (a model being removed).
 */
async function scenario(stack, { name, affected, others, phase, edit, long, upArgs = [], env = {}, window: wantWindow = false }) {
  log(`\n— ${name} (${stack.build.name})`);
  const rest = traffic(stack, others);
  let mine = phase === 'after' ? undefined : traffic(stack, [affected]);
  await sleep(SETTLE_MS);
  edit();
  writeConfig(stack);
  let longResult;
  if (long) {
    let started;
    const first = new Promise((r) => (started = r));
    longResult = longRequest({ url: stack.gatewayUrl, key: stack.masterKey, model: affected, tokens: LONG_TOKENS, timeoutMs: 120_000, onChunk: started });
    await Promise.race([first, longResult, sleep(10_000)]);
  }
  let mineReport;
  if (phase === 'before') mineReport = await mine.stop();
  const up = await serve(stack, ['up', ...upArgs], { env });
  for (const l of up.lines) log(`  ${l.stderr ? '' : '(stdout) '}${l.text}`);
  if (phase === 'after') mine = traffic(stack, [affected]);
  await sleep(SETTLE_MS);
  const [restReport, afterReport, longDone] = await Promise.all([rest.stop(), phase === 'before' ? mineReport : mine.stop(), longResult]);
  mineReport = afterReport;

  const window = wantWindow ? announcedWindow(up.lines, affected) : undefined;
  const sec = (t) => {
    const v = Math.round((t - up.start) / 100) / 10;
    return `${(v === 0 ? 0 : v).toFixed(1)}s`;
  };
  const kinds = ['pooled', 'keepAlive'];
  const failuresOf = (reports) => kinds.flatMap((k) => reports[k]?.failures ?? []);
  const spanOf = (fs) => (fs.length ? `${sec(Math.min(...fs.map((f) => f.start)))}..${sec(Math.max(...fs.map((f) => f.end)))}` : '-');
  const outside = (report) => (!report ? 0 : window ? report.failuresOutside(affected, window.from, window.to).length : report.models[affected].failures);
  const result = {
    name,
    build: stack.build.name,
    upCode: up.code,
    upMs: up.end - up.start,
    pooled: { unaffected: tally(restReport.pooled, others), affected: tally(mineReport.pooled, [affected]) },
    keepAlive: { unaffected: tally(restReport.keepAlive, others), affected: tally(mineReport.keepAlive, [affected]) },
    unaffectedSpan: spanOf(failuresOf(restReport)),
    affected,
    affectedSpan: spanOf(failuresOf(mineReport)),
    long: longDone ? `${longLabel(longDone)} ${sec(longDone.end)}` : '-',
    longError: longDone && !longDone.complete ? longDone.error : '',
    window: wantWindow ? (window ? `${sec(window.from)}..${sec(window.to)}` : 'none announced') : '-',
    outside: wantWindow ? { pooled: outside(mineReport.pooled), keepAlive: outside(mineReport.keepAlive) } : undefined,
    reasons: { unaffected: reasons(failuresOf(restReport)), affected: reasons(failuresOf(mineReport)) },
  };
  const f = (t) => `${t.failures}/${t.requests}`;
  log(
    `  unaffected: ${f(result.pooled.unaffected)} pooled, ${f(result.keepAlive.unaffected)} keep-alive failed; ` +
      `${affected}: ${f(result.pooled.affected)} pooled, ${f(result.keepAlive.affected)} keep-alive failed; long request: ${result.long}`,
  );
  return result;
}

/** The four scenarios on a fresh stack of one build; the stack is removed afterwards. */
async function measure(build, n, runLabel) {
  const stack = await makeStack(build, n);
  current = stack;
  try {
    await docker('network', 'create', '--label', LABEL, stack.network);
    for (const i of [1, 2, 3]) stack.models.set(key(i), { maxModelLen: 4096 });
    writeConfig(stack);
    log(`\n=== ${build.name}${runLabel}: starting 3 stand-in models and the gateway (${LITELLM_IMAGE}) on ${stack.gatewayUrl}...`);
    const first = await serve(stack, ['up']);
    for (const l of first.lines) log(`  ${l.text}`);
    if (first.code !== 0) throw new Error(`the first serve up of ${build.name} exited ${first.code}:\n${first.lines.map((l) => l.text).join('\n')}`);
    await waitRouted(stack, [key(1), key(2), key(3)]);
    log(`ready after ${((first.end - first.start) / 1000).toFixed(1)} s`);
    // The long request must really be long through the gateway (LiteLLM passing vLLM's
    // ignore_eos/min_tokens on), or "complete" in the table would mean nothing.
    const probe = await longRequest({ url: stack.gatewayUrl, key: stack.masterKey, model: key(1), tokens: LONG_TOKENS, timeoutMs: 120_000 });
    const probeLine = `long request through the gateway, undisturbed: ${longLabel(probe)} in ${((probe.end - probe.start) / 1000).toFixed(1)} s`;
    log(probeLine);
    if (!probe.complete || probe.chunks < LONG_TOKENS) throw new Error(`${probeLine}: expected ${LONG_TOKENS} chunks and [DONE] (${probe.error})`);

    const flip = (k) => {
      const m = stack.models.get(k);
      m.maxModelLen = m.maxModelLen === 4096 ? 8192 : 4096;
    };
    const base = [key(1), key(2), key(3)];
    const out = [];
    out.push(await scenario(stack, { name: `(a) add${runLabel}`, affected: key(4), others: base, phase: 'after', edit: () => stack.models.set(key(4), { maxModelLen: 4096 }) }));
    out.push(await scenario(stack, { name: `(b) remove${runLabel}`, affected: key(4), others: base, phase: 'before', long: true, edit: () => stack.models.delete(key(4)) }));
    out.push(await scenario(stack, { name: `(c) rolling${runLabel}`, affected: key(3), others: [key(1), key(2)], phase: 'throughout', long: true, edit: () => flip(key(3)) }));
    out.push(
      await scenario(stack, {
        name: `(d) in place${runLabel}`,
        affected: key(2),
        others: [key(1), key(3)],
        phase: 'throughout',
        long: true,
        upArgs: values['in-place-arg'],
        env: IN_PLACE_ENV,
        window: true,
        edit: () => {
          flip(key(2));
          if (values['in-place-yaml']) stack.models.get(key(2)).extra = values['in-place-yaml'];
        },
      }),
    );
    return { results: out, probeLine, firstUpMs: first.end - first.start };
  } finally {
    const down = await serve(stack, ['down', '--all']);
    if (down.code !== 0) log(`serve down --all of ${build.name} exited ${down.code}; removing by label`);
    await sweep(stack.dir);
    current = undefined;
  }
}

const results = [];
const probes = [];
let status = 0;
try {
  let n = 0;
  for (let r = 1; r <= RUNS; r++) {
    // Interleaved, and the order turned each run: neither build always goes first.
    const order = r % 2 === 1 ? BUILDS : [...BUILDS].reverse();
    for (const build of order) {
      const m = await measure(build, ++n, RUNS > 1 ? ` #${r}` : '');
      results.push(...m.results);
      probes.push(`${build.name}${RUNS > 1 ? ` #${r}` : ''}: first serve up ${(m.firstUpMs / 1000).toFixed(1)} s; ${m.probeLine}`);
    }
  }

  const f = (t) => `${t.failures}/${t.requests}`;
  const answers = (x) => {
    const all = [x.pooled.unaffected, x.pooled.affected, x.keepAlive.unaffected, x.keepAlive.affected].reduce(add, none());
    return `${all.wrong}${all.unnamed ? ` (${all.unnamed} unnamed)` : ''}`;
  };
  const printTable = (rows) => {
    const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
    rows.forEach((row, i) => {
      console.log(row.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd());
      if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
    });
  };

  const [l1, l5, l15] = loadavg();
  console.log(
    `\navailability during changes: 3 stand-ins (load ${LOAD_DELAY}s, ${TOKEN_DELAY_MS} ms/token) behind ${LITELLM_IMAGE}; ` +
      `per model ${CONCURRENCY} pooled and ${KEEP_ALIVE} keep-alive ${values.stream ? 'streaming' : 'plain'} clients (no retries), max_tokens ${MAX_TOKENS}, ` +
      `${SETTLE_MS / 1000}s of traffic before and after each up; builds: ${BUILDS.map((b) => `${b.name} (${b.cli})`).join(', ')}; ` +
      `node ${process.version}, ${availableParallelism()} cores, load average ${l1.toFixed(2)} ${l5.toFixed(2)} ${l15.toFixed(2)}`,
  );
  console.log('\nper run (failed/requests; "wrong": answers from another model than the one asked):');
  const head = ['scenario', 'build', 'serve up', 'unaffected pooled', 'keep-alive', 'failing (s after up)', 'affected', 'pooled', 'keep-alive', 'failing (s after up)', 'wrong', 'long stream (ended, s after up)', 'in-place window', 'outside window (pooled/keep-alive)'];
  printTable([
    head,
    ...results.map((x) => [
      x.name,
      x.build,
      `${(x.upMs / 1000).toFixed(1)}s${x.upCode ? ` exit ${x.upCode}` : ''}`,
      f(x.pooled.unaffected),
      f(x.keepAlive.unaffected),
      x.unaffectedSpan,
      x.affected,
      f(x.pooled.affected),
      f(x.keepAlive.affected),
      x.affectedSpan,
      answers(x),
      x.long,
      x.window,
      x.outside === undefined ? '-' : `${x.outside.pooled}/${x.outside.keepAlive}`,
    ]),
  ]);

  // Per scenario and build, summed over the runs: the builds side by side.
  console.log(`\nsummed over ${RUNS} run(s), failed/requests:`);
  const scenarios = [...new Set(results.map((x) => x.name.replace(/ #\d+$/, '')))];
  const sumHead = ['scenario', ...BUILDS.flatMap((b) => [`${b.name}: unaffected keep-alive`, 'pooled', 'affected keep-alive', 'pooled', 'wrong', 'outside window'])];
  const sumRows = [sumHead];
  for (const s of scenarios) {
    const row = [s];
    for (const b of BUILDS) {
      const mine = results.filter((x) => x.build === b.name && x.name.replace(/ #\d+$/, '') === s);
      const sum = (pick) => mine.map(pick).reduce(add, none());
      const wrong = sum((x) => [x.pooled.unaffected, x.pooled.affected, x.keepAlive.unaffected, x.keepAlive.affected].reduce(add, none()));
      const outs = mine.filter((x) => x.outside);
      row.push(
        f(sum((x) => x.keepAlive.unaffected)),
        f(sum((x) => x.pooled.unaffected)),
        f(sum((x) => x.keepAlive.affected)),
        f(sum((x) => x.pooled.affected)),
        `${wrong.wrong}${wrong.unnamed ? ` (${wrong.unnamed} unnamed)` : ''}`,
        outs.length ? `${outs.reduce((a, x) => a + x.outside.pooled + x.outside.keepAlive, 0)}` : '-',
      );
    }
    sumRows.push(row);
  }
  printTable(sumRows);

  console.log('\nwhy requests failed:');
  for (const x of results) {
    const all = [...x.reasons.unaffected.map(([t, n]) => ['unaffected', t, n]), ...x.reasons.affected.map(([t, n]) => [x.affected, t, n])];
    if (x.longError) all.push(['long stream', reasons([{ status: 200, error: x.longError }])[0][0], 1]);
    if (all.length === 0) continue;
    console.log(`  ${x.name} ${x.build}`);
    for (const [who, text, n] of all) console.log(`    ${String(n).padStart(4)} × ${who}: ${text}`);
  }
  console.log('');
  for (const p of probes) console.log(p);
  console.log(`the in-place window is where serve announced it (${IN_PLACE_START} .. ${IN_PLACE_END}), from its stderr lines.`);
} catch (error) {
  log(`\nbench failed: ${error.stack ?? error}`);
  status = 1;
} finally {
  await sweep(current?.dir);
}
process.exit(status);
