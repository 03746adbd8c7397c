// A managed gateway whose worker hangs (LiteLLM under gunicorn, now and then, at start: the
// fork lands while a thread of the master holds an import lock) gets a fresh worker from the
// sync, which then routes as usual. The hang is made by stopping the real worker process: it
// keeps its share of the listening socket and answers nothing, as the hung worker does.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStack, type Stack, type StackEvent } from '../src/index.js';
import { docker } from '../../../test/support/docker-cli.js';
import { createStackProject, type StackProject } from '../../../test/support/stack-project.js';

/** The gunicorn workers (children of the container's main process), youngest first. */
async function workers(container: string): Promise<number[]> {
  const master = Number((await docker(['inspect', '-f', '{{.State.Pid}}', container])).stdout.trim());
  const { stdout } = await docker(['top', container, '-o', 'pid,ppid,etimes']);
  return stdout
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/).map(Number))
    .filter(([pid, ppid]) => ppid === master && pid !== undefined && pid > 0)
    .sort((a, b) => a[2]! - b[2]! || b[0]! - a[0]!)
    .map(([pid]) => pid!);
}

/**
 * The worker that serves: the youngest. A worker retired by a reload (`up` routes the model with
 * one) can linger while it closes its connections; it no longer accepts any.
 */
async function servingWorker(container: string): Promise<number> {
  const [pid] = await workers(container);
  if (pid === undefined) throw new Error(`${container} has no gunicorn worker`);
  return pid;
}

async function chat(p: StackProject, model: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${p.gatewayPort}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${p.masterKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hello' }], max_tokens: 4 }),
    signal: AbortSignal.timeout(20_000),
  });
  return res.status;
}

describe('a managed gateway whose worker hangs', () => {
  let p: StackProject;
  let stack: Stack;
  const stopped: number[] = [];

  beforeAll(async () => {
    p = await createStackProject('gateway-stall');
    p.write(['a'], { monitoring: false });
    stack = await openStack({ configPath: p.file, env: p.env });
    const up = await stack.up();
    expect(up.ok).toBe(true);
  });
  afterAll(async () => {
    for (const pid of stopped) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // gone: gunicorn killed it
      }
    }
    await stack?.down({ all: true });
    await p?.cleanup();
  });

  it('is given a fresh worker by the sync, and routes again', { timeout: 150_000 }, async () => {
    const gateway = `${p.prefix}-litellm`;
    const hung = await servingWorker(gateway);
    // What the hung worker looks like from outside: alive, on the socket, silent.
    process.kill(hung, 'SIGSTOP');
    stopped.push(hung);
    const state = () => readFileSync(`/proc/${hung}/stat`, 'utf8').split(' ')[2];
    for (let i = 0; i < 50 && state() !== 'T'; i++) await new Promise((r) => setTimeout(r, 20));
    expect(state()).toBe('T');

    const events: StackEvent[] = [];
    const t0 = Date.now();
    const sync = await stack.sync({ onEvent: (e) => events.push(e) });
    const took = Date.now() - t0;
    console.log(`sync with a hung gateway worker: ${took} ms`);
    expect(sync.ok).toBe(true);
    const notes = events.filter((e): e is Extract<StackEvent, { type: 'note' }> => e.type === 'note').map((e) => e.message);
    expect(notes).toContainEqual(expect.stringMatching(new RegExp(`^the gateway ${gateway} took connections and answered none for 1[0-2] s: giving it a fresh worker \\(SIGHUP\\)$`)));
    // One fresh worker was enough: 10 s of silence, then the new worker's start.
    expect(notes.filter((n) => n.includes('fresh worker'))).toHaveLength(1);

    // A fresh worker serves beside the hung one, which gunicorn kills once it has missed its
    // heartbeat for the worker timeout LiteLLM sets (600 s). It accepts nothing meanwhile.
    const now = await workers(gateway);
    expect(now).toContain(hung);
    expect(now[0]).not.toBe(hung);
    for (let i = 0; i < 5; i++) expect(await chat(p, 'demo/a')).toBe(200);
  });

  it('a gateway that is well is never signalled: a second sync says nothing of workers', async () => {
    const gateway = `${p.prefix}-litellm`;
    const before = await servingWorker(gateway);
    const events: StackEvent[] = [];
    expect((await stack.sync({ onEvent: (e) => events.push(e) })).ok).toBe(true);
    expect(events.some((e) => e.type === 'note' && e.message.includes('fresh worker'))).toBe(false);
    expect(await servingWorker(gateway)).toBe(before);
  });
});
