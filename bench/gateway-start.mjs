#!/usr/bin/env node
// Gateway start: how long a fresh `serve up` takes until the stack serves, and how often the
// managed gateway needed a second try on the way. A small project (one vLLM stand-in, the managed
// gateway on the real LiteLLM test image, monitoring none) is brought up from nothing N times in
// a row: each run times `serve up` as a whole process (spawn to exit), reads its stderr for a
// second try (SECOND_TRY below: a gunicorn gateway given a fresh worker with SIGHUP, or a gateway
// restarted to load its plugin), checks that a chat completion through the gateway is answered by
// the model, and removes the stack again (`serve down --all`, then everything with the bench's
// label). Prints each run, then per build the median and worst time to ready and the count of
// second tries. Exit 0 whatever was measured.
//
// Several builds side by side: --serve names the `serve` of each (a checkout, or its
// packages/cli/dist/serve.cjs); the runs are interleaved (run 1 A then B, run 2 B then A, ...), so
// that the machine's load falls on both alike.
//
//   pnpm build && bash images/build.sh && node bench/gateway-start.mjs [options]
//
//   --serve [NAME=]PATH   a build to measure (repeatable; default this checkout); NAME labels it
//   --runs N              fresh `serve up` runs per build (default 10)
//   --load-delay S        STANDIN_LOAD_DELAY of the model (default 2, the stand-in's own default)
//   --verbose             print serve up's stderr of each run, each line with its time
//
// Everything it creates (containers, networks, volumes, the lock) carries the label
// inferstack.test=bench-<pid> and is removed after each run and at the end, also on Ctrl-C;
// the gateway gets a free port on 127.0.0.1, each run's project a temporary folder.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { buildsFrom, cleanUpOnInterrupt, freePort, sweep as sweepLabelled } from './_support.mjs';

/** serve up's stderr lines that tell of a second try at the gateway (old and new wording). */
const SECOND_TRY = /fresh worker|SIGHUP|restarting it to load/;

const { values } = parseArgs({
  options: {
    serve: { type: 'string', multiple: true, default: [] },
    runs: { type: 'string', default: '10' },
    'load-delay': { type: 'string', default: '2' },
    verbose: { type: 'boolean', default: false },
  },
});
const whole = (name, min = 1) => {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} takes a whole number ≥ ${min}, not "${values[name]}"`);
  return n;
};
const RUNS = whole('runs');
const LOAD_DELAY = whole('load-delay', 0);

const root = resolve(import.meta.dirname, '..');
const BUILDS = buildsFrom(values.serve, root);

const STANDIN_IMAGE = 'inferstack-test/vllm-standin:latest';
const LITELLM_IMAGE = process.env.INFERSTACK_TEST_LITELLM_IMAGE ?? 'inferstack-test/litellm:1.108.14';
const LABEL = `inferstack.test=bench-${process.pid}`;
const tag = `g${process.pid}`;
const MODEL = `${tag}-m1`;
/** Deadline of one `serve up` (it has its own timeouts; this only keeps the bench bounded). */
const SERVE_DEADLINE_MS = 5 * 60_000;

const run = promisify(execFile);
const docker = async (...args) => (await run('docker', args, { maxBuffer: 16 << 20, timeout: 120_000 })).stdout.trim();
const log = (line) => process.stderr.write(`${line}\n`);


let child;
let interrupted = false;
/** Run a build's `serve` in a folder: exit code, wall time and the stderr lines. Never rejects. */
function serve(build, dir, args) {
  return new Promise((res) => {
    const t0 = performance.now();
    if (interrupted) return res({ code: 130, ms: 0, stderr: [] });
    child = spawn(process.execPath, [build.cli, ...args], {
      cwd: dir,
      env: { ...process.env, INFERSTACK_LABELS: LABEL, INFERSTACK_HASH_KEY: 'bench', NO_COLOR: '1' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d) => {
      // Each line with the seconds since the start, the time it arrived.
      const at = ((performance.now() - t0) / 1000).toFixed(1);
      err += String(d).replace(/^(?=.)/gm, `[${at}s] `);
    });
    const kill = setTimeout(() => child?.kill('SIGINT'), SERVE_DEADLINE_MS);
    child.on('close', (code, signal) => {
      clearTimeout(kill);
      child = undefined;
      res({ code: code ?? (signal ? 128 : 1), ms: performance.now() - t0, stderr: err.split('\n').filter(Boolean) });
    });
  });
}

/** One chat completion through the gateway: who answered, or why nobody did. */
function chat(port, masterKey) {
  return new Promise((res) => {
    const body = JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 16 });
    const req = http.request(
      { host: '127.0.0.1', port, path: '/v1/chat/completions', method: 'POST', agent: false, timeout: 20_000, headers: { authorization: `Bearer ${masterKey}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (r) => {
        let text = '';
        r.on('data', (d) => (text += d));
        r.on('end', () => {
          let content = '';
          try {
            content = JSON.parse(text).choices?.[0]?.message?.content ?? '';
          } catch {
            // not JSON: the status says it
          }
          const from = /Hello from ([^!\s]+)!/.exec(content)?.[1];
          res(r.statusCode === 200 && from ? { ok: from === MODEL, from } : { ok: false, error: `HTTP ${r.statusCode}` });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (e) => res({ ok: false, error: e.message }));
    req.end(body);
  });
}

/** Remove everything carrying the bench's label, and a folder. */
const sweep = (dir) => sweepLabelled({ docker, label: LABEL, log }, dir);

let currentDir;
cleanUpOnInterrupt({ log, child: () => child, cleanup: () => sweep(currentDir), onSignal: () => { interrupted = true; } });

/** One fresh `serve up` of a build, from nothing, and the stack removed afterwards. */
async function once(build, n) {
  const dir = mkdtempSync(join(tmpdir(), 'inferstack-gateway-start-'));
  currentDir = dir;
  mkdirSync(join(dir, 'model_config'));
  const masterKey = `sk-${randomBytes(24).toString('hex')}`;
  const port = await freePort();
  writeFileSync(join(dir, '.env'), `HUGGINGFACE_CACHE=${join(dir, 'hf')}\nLITELLM_MASTER_KEY=${masterKey}\n`, { mode: 0o600 });
  writeFileSync(
    join(dir, 'model_config', 'models.yaml'),
    [
      `network: inferstack-bench-${process.pid}-${n}`,
      `gateway: {image: ${LITELLM_IMAGE}, container-name: ${tag}-litellm, port: ${port}}`,
      'monitoring: {mode: none}',
      'models:',
      `  - ${MODEL}: {model: bench/${MODEL}, image: ${STANDIN_IMAGE}, pull: never, gpus: none, served-model-name: ${MODEL}, env: {STANDIN_LOAD_DELAY: "${LOAD_DELAY}"}}`,
      '',
    ].join('\n'),
  );
  try {
    const up = await serve(build, dir, ['up']);
    const second = up.stderr.filter((l) => SECOND_TRY.test(l)).map((l) => l.replace(/^\[[\d.]+s\] /, ''));
    if (values.verbose) log(up.stderr.map((l) => `    ${l}`).join('\n'));
    const answer = up.code === 0 ? await chat(port, masterKey) : { ok: false, error: 'serve up failed' };
    if (up.code !== 0 && !values.verbose) log(up.stderr.map((l) => `    ${l}`).join('\n'));
    return { build: build.name, ms: up.ms, code: up.code, second, answer };
  } finally {
    const down = await serve(build, dir, ['down', '--all']);
    if (down.code !== 0) log(`  serve down --all of ${build.name} exited ${down.code}; removing by label`);
    await sweep(dir);
    currentDir = undefined;
  }
}

const results = [];
try {
  let n = 0;
  for (let r = 1; r <= RUNS; r++) {
    const order = r % 2 === 1 ? BUILDS : [...BUILDS].reverse();
    for (const build of order) {
      const x = await once(build, ++n);
      results.push({ run: r, ...x });
      log(
        `#${r} ${build.name}: serve up ${(x.ms / 1000).toFixed(1)} s${x.code ? ` exit ${x.code}` : ''}` +
          `${x.second.length ? `, second try: ${x.second.join(' / ')}` : ''}; chat: ${x.answer.ok ? `answered by ${x.answer.from}` : x.answer.error ?? `answered by ${x.answer.from}`}`,
      );
    }
  }
} finally {
  await sweep(currentDir);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const [l1, l5, l15] = loadavg();
console.log(
  `\nfresh serve up with a managed gateway (${LITELLM_IMAGE}, one stand-in, load delay ${LOAD_DELAY} s, monitoring none), ${RUNS} runs per build, interleaved; ` +
    `node ${process.version}, ${availableParallelism()} cores, load average ${l1.toFixed(2)} ${l5.toFixed(2)} ${l15.toFixed(2)}`,
);
const rows = [['build', 'median', 'worst', 'best', 'second tries', 'failed', 'chat answered by the model', 'runs (s)']];
for (const b of BUILDS) {
  const mine = results.filter((x) => x.build === b.name);
  const ok = mine.filter((x) => x.code === 0);
  const s = (ms) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`);
  rows.push([
    `${b.name} (${b.cli})`,
    ok.length ? s(median(ok.map((x) => x.ms))) : '-',
    ok.length ? s(Math.max(...ok.map((x) => x.ms))) : '-',
    ok.length ? s(Math.min(...ok.map((x) => x.ms))) : '-',
    `${mine.filter((x) => x.second.length).length} of ${mine.length}`,
    `${mine.length - ok.length}`,
    `${mine.filter((x) => x.answer.ok).length} of ${mine.length}`,
    mine.map((x) => `${(x.ms / 1000).toFixed(1)}${x.second.length ? '*' : ''}${x.code ? '!' : ''}`).join(' '),
  ]);
}
const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
rows.forEach((row, i) => {
  console.log(row.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd());
  if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
});
console.log('median and worst over the runs that succeeded; * a run with a second try, ! a run that failed.');
process.exit(0);
