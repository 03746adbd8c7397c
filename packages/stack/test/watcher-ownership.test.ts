// The watcher owns putting models away, and the gateway's wake hook only asks a watcher that
// runs and knows the model. Against the real daemon and the real LiteLLM (its wake hook), with
// `watcher: {mode: none}` and the watcher run in this process as `serve watch` runs it in the
// foreground (listening on this machine's address on the stack's network, which the gateway's
// container reaches).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { openStack, type Stack } from '../src/index.js';
import type { Watcher } from '../src/watcher/watcher.js';
import { docker } from '../../../test/support/docker-cli.js';
import { createStackProject, LITELLM_IMAGE, STANDIN_IMAGE, type StackProject } from '../../../test/support/stack-project.js';

describe('a watcher in the foreground, and up beside it', () => {
  let p: StackProject;
  let stack: Stack;
  const stop = new AbortController();
  let watcher: Watcher | undefined;
  let running: Promise<void> | undefined;
  const key = (k: string) => `${p.prefix}-${k}`;
  const served = (k: string) => `${p.prefix}-${k}`;

  const write = (s2Env: string) => {
    writeFileSync(
      p.file,
      [
        `network: ${p.network}`,
        `gateway: {image: ${LITELLM_IMAGE}, container-name: ${p.prefix}-litellm, port: ${p.gatewayPort}}`,
        'monitoring: {mode: none}',
        'watcher: {mode: none}',
        `defaults: {image: ${STANDIN_IMAGE}, pull: never, env: {STANDIN_LOAD_DELAY: "1", STANDIN_WAKE_DELAY_MS: "200", STANDIN_SLEEP_DELAY_MS: "50"}}`,
        'models:',
        `  - ${key('s1')}: {model: demo/s1, served-model-name: ${key('s1')}, gpus: none, swap-group: pair}`,
        `  - ${key('s2')}: {model: demo/s2, served-model-name: ${key('s2')}, gpus: none, swap-group: pair, env: {${s2Env}}}`,
      ].join('\n') + '\n',
    );
  };
  const open = () => openStack({ configPath: p.file, cwd: p.dir, env: p.env });
  const chat = async (model: string) => {
    const r = await fetch(`http://127.0.0.1:${p.gatewayPort}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${p.masterKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 }),
      signal: AbortSignal.timeout(30_000),
    });
    return { status: r.status, body: await r.text() };
  };
  /** Whether a model's engine sleeps, asked of the model itself (this machine reaches its address). */
  const asleep = async (k: string) => {
    const info = JSON.parse((await docker(['inspect', `inference-${key(k)}`])).stdout)[0];
    const ip = Object.values(info.NetworkSettings.Networks as Record<string, { IPAddress: string }>)[0]!.IPAddress;
    return ((await (await fetch(`http://${ip}:8000/is_sleeping`)).json()) as { is_sleeping: boolean }).is_sleeping;
  };

  /** The watcher, as `serve watch` runs it in the foreground; it looks once an hour here. */
  const startWatcher = async () => {
    running ??= stack.watch({ intervalMs: 3_600_000, settleMs: 0, signal: stop.signal, onStart: (w) => (watcher = w) });
    await new Promise<void>((resolve) => {
      const t = setInterval(() => watcher && (clearInterval(t), resolve()), 50);
    });
  };

  beforeAll(async () => {
    p = await createStackProject('watcher-owner');
    write('A: "1"');
    stack = await open();
    const up = await stack.up();
    expect(up.ok, JSON.stringify(up.models)).toBe(true);
  }, 240_000);
  afterAll(async () => {
    stop.abort();
    await running?.catch(() => {});
    await (await open()).down({ all: true, volumes: true, drainTimeoutMs: 0 }).catch(() => {});
    await p.cleanup();
  });

  it('refuses requests to a model that may sleep at once while no watcher runs, and wakes it through the gateway once one does', async () => {
    // up started s2 after putting s1 to sleep; nothing runs to wake s1.
    expect(await asleep('s1')).toBe(true);
    const started = Date.now();
    const refused = await chat(served('s1'));
    expect(refused.status, refused.body).toBe(503);
    expect(refused.body).toMatch(/no watcher of stack .* runs/);
    expect(Date.now() - started).toBeLessThan(5000);
    // The engine was not reached (a request would have killed it).
    expect(await asleep('s1')).toBe(true);

    await startWatcher();
    const woke = await chat(served('s1'));
    expect(woke.status, woke.body).toBe(200);
    expect(await asleep('s1')).toBe(false);
    expect(await asleep('s2')).toBe(true);
  }, 120_000);

  it('lets up put a swap-group member away through the watcher, which then knows it sleeps', async () => {
    // The watcher looks once an hour here: what it knows comes from what it did (s1 is awake and
    // holds the group), not from a look that would repair it.
    await startWatcher();
    // s1 holds the group, as far as the watcher knows.
    expect(await watcher!.acquire(served('s1'))).toMatchObject({ ok: true });
    expect(await asleep('s1')).toBe(false);
    write('A: "2"');
    const next = await open();
    const up = await next.up();
    expect(up.ok, JSON.stringify(up.models)).toBe(true);
    // up started the changed s2 after s1 went to sleep.
    expect(await asleep('s1')).toBe(true);
    // A request for s1 is let through only once it is awake: the watcher knows it sleeps.
    const r = await watcher!.acquire(served('s1'));
    expect(r).toMatchObject({ ok: true, woke: true, from: 'asleep' });
    expect(await asleep('s1')).toBe(false);
    expect(await asleep('s2')).toBe(true);
  }, 180_000);
});
