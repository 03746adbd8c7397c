// Changes without downtime, against the real LiteLLM (config-file mode, two workers) and vLLM
// stand-ins, with keep-alive clients that never retry sending requests through the gateway the
// whole time: adding, removing and changing a model drops no request to the other models, and
// the routes change inside the running gateway (its container is never restarted); a rolling
// replacement drops none to the changed one, and every answer comes from the model asked, also
// while replacements take over each other's addresses; an in-place one drops requests only
// inside the window it announces; a stop lets a long stream finish; a replacement that fails
// leaves the old container serving and routed.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, STANDIN, createProject, docker, freePort, type Project } from './_harness.js';

const LITELLM = process.env.INFERSTACK_TEST_LITELLM_IMAGE ?? 'inferstack-test/litellm:1.108.14';
const MASTER_KEY = 'sk-test-master-zero-downtime-0123';

interface Request {
  model: string;
  start: number;
  end: number;
  ok: boolean;
  error?: string;
  /** Who answered: the stand-in says "Hello from <served name>". */
  from?: string;
}

/**
 * Closed-loop clients through the gateway, two per model, until stopped. Each keeps its
 * connection alive between requests (as the OpenAI SDKs do) and never sends a request again:
 * a reset connection is a failure like any other.
 */
function traffic(port: number, models: string[]) {
  const done: Request[] = [];
  let running = true;
  const loop = async (model: string) => {
    while (running) {
      const start = Date.now();
      try {
        const r = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
          // Enough tokens for the whole of "Hello from <served name>!".
          body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 32 }),
          signal: AbortSignal.timeout(20_000),
        });
        const body = (await r.json()) as { choices?: Array<{ message?: { content?: string } }> };
        const from = /Hello from ([^!\s]+)/.exec(body.choices?.[0]?.message?.content ?? '')?.[1];
        done.push({ model, start, end: Date.now(), ok: r.status === 200 && Array.isArray(body.choices), ...(from ? { from } : {}), ...(r.status === 200 ? {} : { error: `HTTP ${r.status}` }) });
      } catch (error) {
        done.push({ model, start, end: Date.now(), ok: false, error: `${(error as Error).message} ${String((error as { cause?: unknown }).cause ?? '')}` });
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const loops = models.flatMap((m) => [loop(m), loop(m)]);
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return done;
    },
  };
}

/** `serve` with each stderr line's time, so that announced windows can be checked. */
function serveTimed(p: Project, args: string[]): Promise<{ code: number; lines: Array<{ at: number; text: string }>; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: p.dir,
      env: { ...process.env, INFERSTACK_LABELS: p.labels, INFERSTACK_HASH_KEY: 'test-hash-key', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: Array<{ at: number; text: string }> = [];
    let stdout = '';
    let partial = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => {
      const parts = (partial + d.toString()).split('\n');
      partial = parts.pop() ?? '';
      for (const text of parts) lines.push({ at: Date.now(), text });
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (partial) lines.push({ at: Date.now(), text: partial });
      resolve({ code: code ?? -1, lines, stdout });
    });
  });
}

describe('changes without downtime (real LiteLLM, config-file mode)', () => {
  let p: Project;
  let port: number;
  const served = (k: string) => `served-${p.prefix}-${k}`;
  const models = (entries: Record<string, string[]>) =>
    [
      `network: ${p.network}`,
      `gateway: {image: ${LITELLM}, container-name: ${p.prefix}-litellm, port: ${port}}`,
      'monitoring: {mode: none}',
      `defaults: {image: ${STANDIN}, pull: never, env: {STANDIN_LOAD_DELAY: "1", STANDIN_TOKEN_DELAY_MS: "20"}}`,
      'models:',
      ...Object.entries(entries).flatMap(([k, extra]) => [`  - ${p.prefix}-${k}:`, `      model: test/${k}`, '      gpus: none', `      served-model-name: ${served(k)}`, ...extra.map((l) => `      ${l}`)]),
    ].join('\n') + '\n';
  const failures = (done: Request[], model: string) => done.filter((r) => r.model === model && !r.ok);
  // Every answer comes from the model that was asked (the stand-in names itself; the served name holds no "!").
  const wrong = (done: Request[]) => done.filter((r) => r.ok && r.from !== r.model.replace(/^.*\//, ''));
  const gatewayStarted = async () => (await docker.getContainer(`${p.prefix}-litellm`).inspect()).State.StartedAt;
  const count = (done: Request[], model: string) => done.filter((r) => r.model === model).length;

  beforeAll(async () => {
    port = await freePort();
    // Two workers: a route change is applied, and confirmed, in each.
    p = createProject('zero-downtime', { LITELLM_MASTER_KEY: MASTER_KEY, LITELLM_NUM_WORKERS: '2' });
    // A small network of the test's own: replacements soon get addresses old containers had.
    await docker.createNetwork({ Name: p.network, Driver: 'bridge', Labels: { 'inferstack.test': p.labels.split('=')[1]! }, IPAM: { Config: [{ Subnet: `10.213.${Math.floor(Math.random() * 250)}.0/28` }] } });
    p.writeModels(models({ a: [], b: [] }));
    const up = await p.serve(['up'], { timeoutMs: 240_000 });
    expect(up.code, up.stderr).toBe(0);
  }, 300_000);
  afterAll(async () => {
    await p.serve(['down', '--all', '--drain-timeout', '0']).catch(() => {});
    await p.cleanup();
  });

  it('adding and removing a model drops no request to the others: the routes change in the running gateway', async () => {
    const started = await gatewayStarted();
    const t = traffic(port, [served('a'), served('b')]);
    p.writeModels(models({ a: [], b: [], c: [] }));
    const add = await serveTimed(p, ['up']);
    p.writeModels(models({ a: [], b: [] }));
    const remove = await serveTimed(p, ['up']);
    const done = await t.stop();
    expect(add.code, add.lines.map((l) => l.text).join('\n')).toBe(0);
    expect(remove.code, remove.lines.map((l) => l.text).join('\n')).toBe(0);
    expect(add.lines.map((l) => l.text).join('\n')).toMatch(/live in the running gateway/);
    for (const m of [served('a'), served('b')]) {
      expect(count(done, m)).toBeGreaterThan(10);
      expect(failures(done, m), m).toEqual([]);
    }
    expect(wrong(done)).toEqual([]);
    expect(await gatewayStarted()).toBe(started);
  });

  it('a changed model is replaced rolling: no request to it or the others fails', async () => {
    p.writeModels(models({ a: [], b: ['max-model-len: 8192'] }));
    const plan = await p.serve(['plan']);
    expect(plan.stdout).toMatch(new RegExp(`${p.prefix}-b +recreate .*changed: args → recreate \\(rolling, no downtime\\)`));
    const before = (await docker.getContainer(`inference-${p.prefix}-b`).inspect()).Id;
    const t = traffic(port, [served('a'), served('b')]);
    const up = await serveTimed(p, ['up']);
    const done = await t.stop();
    const text = up.lines.map((l) => l.text).join('\n');
    expect(up.code, text).toBe(0);
    expect(text).toMatch(/rolling replacement/);
    expect(text).toMatch(/replaced: the new container serves under the usual name/);
    for (const m of [served('a'), served('b')]) {
      expect(count(done, m)).toBeGreaterThan(10);
      expect(failures(done, m), m).toEqual([]);
    }
    expect(wrong(done)).toEqual([]);
    const after = await docker.getContainer(`inference-${p.prefix}-b`).inspect();
    expect(after.Id).not.toBe(before);
    expect(after.Config.Cmd).toContain('8192');
    expect((await p.serve(['plan', '--exit-code'])).code).toBe(0);
  });

  it('replace: in-place drops requests to that model only inside the window it announces', async () => {
    p.writeModels(models({ a: [], b: ['max-model-len: 4096', 'replace: in-place'] }));
    const plan = await p.serve(['plan']);
    expect(plan.stdout).toMatch(/in place, downtime: replace: in-place in models\.yaml/);
    const t = traffic(port, [served('a'), served('b')]);
    const up = await serveTimed(p, ['up']);
    const done = await t.stop();
    const text = up.lines.map((l) => l.text).join('\n');
    expect(up.code, text).toBe(0);
    const from = up.lines.find((l) => /replacing in place \(downtime\)/.test(l.text))?.at;
    const to = up.lines.find((l) => /routed again/.test(l.text))?.at;
    expect(from, text).toBeDefined();
    expect(to, text).toBeDefined();
    expect(failures(done, served('a'))).toEqual([]);
    expect(wrong(done)).toEqual([]);
    // A request fails inside the window (it started after the announcement, ended before the end).
    expect(failures(done, served('b')).filter((r) => r.end < from! || r.start > to!)).toEqual([]);
  });

  it('answers from the model asked while replacements take over the addresses of other models\' old containers', async () => {
    const ip = async (k: string) => Object.values((await docker.getContainer(`inference-${p.prefix}-${k}`).inspect()).NetworkSettings.Networks)[0]!.IPAddress;
    const started = await gatewayStarted();
    const t = traffic(port, [served('a'), served('b')]);
    const freed = new Map<string, string>();
    let reused = 0;
    // The stack's network is a /28: after a few replacements its addresses come round again.
    // Which model's new container takes which freed address is up to Docker's allocator, so the
    // rounds go on (at most 12) until one took an address the other model had.
    for (let round = 1; round <= 12 && (round <= 5 || reused === 0); round++) {
      for (const k of ['a', 'b']) freed.set(await ip(k), k);
      p.writeModels(models({ a: [`max-model-len: ${2048 + round}`], b: [`max-model-len: ${2048 + round}`] }));
      const up = await serveTimed(p, ['up']);
      expect(up.code, up.lines.map((l) => l.text).join('\n')).toBe(0);
      for (const k of ['a', 'b']) {
        const was = freed.get(await ip(k));
        if (was !== undefined && was !== k) reused++;
      }
    }
    const done = await t.stop();
    expect(reused, 'a new container took the address an old container of the other model had').toBeGreaterThan(0);
    for (const m of [served('a'), served('b')]) expect(failures(done, m), m).toEqual([]);
    expect(wrong(done)).toEqual([]);
    expect(await gatewayStarted()).toBe(started);
  }, 300_000);

  it('stop lets a long streaming request finish before the model goes (drain)', async () => {
    const stream = (async () => {
      const r = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
        // vLLM's ignore_eos (LiteLLM passes it on): exactly max_tokens tokens, 20 ms apart.
        body: JSON.stringify({ model: served('a'), messages: [{ role: 'user', content: 'tell me a long story' }], max_tokens: 500, ignore_eos: true, stream: true }),
        signal: AbortSignal.timeout(60_000),
      });
      return { status: r.status, text: await r.text() };
    })();
    // The stream is under way (500 tokens, 20 ms apart: about 10 s).
    await new Promise((r) => setTimeout(r, 800));
    const stop = await serveTimed(p, ['stop', `${p.prefix}-a`]);
    const { status, text } = await stream;
    expect(stop.code, stop.lines.map((l) => l.text).join('\n')).toBe(0);
    expect(stop.lines.map((l) => l.text).join('\n')).toMatch(/draining: 1 request\(s\) in flight finish first/);
    expect(status).toBe(200);
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect((await docker.getContainer(`inference-${p.prefix}-a`).inspect()).State.Running).toBe(false);
    expect((await p.serve(['up'])).code).toBe(0);
  });

  it('a replacement whose new container fails leaves the old one serving and routed', async () => {
    const before = (await docker.getContainer(`inference-${p.prefix}-b`).inspect()).Id;
    p.writeModels(models({ a: [], b: ['max-model-len: 4096', 'env: {STANDIN_FAIL: invalid-repo}'] }));
    const t = traffic(port, [served('b')]);
    const up = await p.serve(['up'], { timeoutMs: 120_000 });
    const done = await t.stop();
    expect(up.code).toBe(1);
    expect(up.stderr).toMatch(/vLLM found no model at 'test\/b'/);
    const now = await docker.getContainer(`inference-${p.prefix}-b`).inspect();
    expect(now.Id).toBe(before);
    expect(now.State.Running).toBe(true);
    expect(failures(done, served('b'))).toEqual([]);
    expect((await p.serve(['status', '--json']).then((r) => JSON.parse(r.stdout) as { models: Array<{ model: string; routed: boolean }> })).models.find((m) => m.model === `${p.prefix}-b`)?.routed).toBe(true);
    // Nothing of the failed attempt is left.
    expect((await docker.listContainers({ all: true, filters: { name: [`inference-${p.prefix}-b-next`] } })).length).toBe(0);
  });
});
