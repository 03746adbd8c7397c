// Who may take over a stack's lock: only a holder that is provably gone. Locks are made here by
// hand with the labels a holder elsewhere would leave (another machine, another pid namespace,
// an older serve), and a real container holds one with serve's own code.
import { randomBytes } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Docker from 'dockerode';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { LOCK_IMAGE, LockHeldError, acquireLock, breakLock, lockContainerName, readLockHolder } from '../src/index.js';
import { ensureLockImage } from '../src/lock.js';

const docker = new Docker();
const session = process.env.INFERSTACK_TEST_SESSION ?? `local-${process.pid}`;
const labels = { 'inferstack.test': session };
const tag = randomBytes(3).toString('hex');
const stack = `lockh${tag}`;
const NODE = 'inferstack-test/node:20';
const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
const pidNamespace = readlinkSync('/proc/self/ns/pid');
/** A pid above the kernel's pid_max: no process has it. */
const deadPid = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8')) + 7;
const containers: string[] = [];

/** The lock of `stack`, as a holder with these labels left it. */
async function handMadeLock(holder: Record<string, string>): Promise<void> {
  await ensureLockImage(docker);
  await docker.createContainer({
    name: lockContainerName(stack),
    Image: LOCK_IMAGE,
    Cmd: ['lock'],
    Labels: {
      ...labels,
      'inferstack.lock': 'true',
      'inferstack.lock.host': hostname(),
      'inferstack.lock.since': new Date().toISOString(),
      'inferstack.lock.command': 'serve up',
      ...holder,
    },
  });
}

const tryOnce = () => acquireLock(docker, { command: 'next run', waitMs: 0, extraLabels: labels, stack });

async function sleeper(): Promise<Docker.Container> {
  const c = await docker.createContainer({ Image: NODE, Cmd: ['node', '-e', 'setInterval(() => {}, 1 << 30)'], Labels: labels, StopTimeout: 1 });
  containers.push(c.id);
  await c.start();
  return c;
}

afterEach(async () => {
  await breakLock(docker, stack);
});
afterAll(async () => {
  await Promise.all(containers.map((id) => docker.getContainer(id).remove({ force: true }).catch(() => {})));
});

describe('taking over a lock', () => {
  it('a dead pid under this host name on another machine (another boot id) is not taken over: the error says who and why', async () => {
    await handMadeLock({ 'inferstack.lock.pid': String(deadPid), 'inferstack.lock.boot-id': '00000000-1111-2222-3333-444444444444', 'inferstack.lock.pid-namespace': pidNamespace });
    const error = await tryOnce().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LockHeldError);
    expect((error as LockHeldError).message).toMatch(new RegExp(`pid ${deadPid} on ${hostname()} since \\S+ \\(serve up\\); it was taken on another machine`));
    expect((error as LockHeldError).hint).toMatch(/never taken over automatically.*serve unlock/);
    expect((await readLockHolder(docker, stack))?.pid).toBe(deadPid);
  });

  it('a dead pid in another pid namespace (a --network host container: same host name) is not taken over', async () => {
    await handMadeLock({ 'inferstack.lock.pid': String(deadPid), 'inferstack.lock.boot-id': bootId, 'inferstack.lock.pid-namespace': 'pid:[4026532999]' });
    await expect(tryOnce()).rejects.toThrow(/another container or pid namespace/);
    expect((await readLockHolder(docker, stack))?.pid).toBe(deadPid);
  });

  it("a dead pid under this host name in an older serve's lock (no boot id, no namespace) is not taken over", async () => {
    await handMadeLock({ 'inferstack.lock.pid': String(deadPid) });
    await expect(tryOnce()).rejects.toThrow(/older serve/);
    expect((await readLockHolder(docker, stack))?.pid).toBe(deadPid);
  });

  it('a dead pid of this boot and pid namespace is taken over, and so is a pid now held by a process started at another time', async () => {
    await handMadeLock({ 'inferstack.lock.pid': String(deadPid), 'inferstack.lock.boot-id': bootId, 'inferstack.lock.pid-namespace': pidNamespace });
    await (await tryOnce()).release();
    // Our own pid, as if an earlier process with it had taken the lock.
    await handMadeLock({ 'inferstack.lock.pid': String(process.pid), 'inferstack.lock.process-start': '1', 'inferstack.lock.boot-id': bootId, 'inferstack.lock.pid-namespace': pidNamespace });
    const taken = await tryOnce();
    expect((await readLockHolder(docker, stack))?.command).toBe('next run');
    await taken.release();
  });

  it('a live holder of this boot and namespace is waited for', async () => {
    const first = await acquireLock(docker, { command: 'serve up', extraLabels: labels, stack });
    try {
      expect(await readLockHolder(docker, stack)).toMatchObject({ pid: process.pid, bootId, pidNamespace });
      const error = await acquireLock(docker, { command: 'second', waitMs: 300, pollMs: 50, extraLabels: labels, stack }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LockHeldError);
      expect((error as LockHeldError).hint).toMatch(/^wait for it to finish/);
    } finally {
      await first.release();
    }
  });

  it("a holder's container that runs since before the lock is waited for; once restarted, stopped or removed, its lock is taken over", async () => {
    const c = await sleeper();
    const holder = { 'inferstack.lock.pid': '1', 'inferstack.lock.boot-id': bootId, 'inferstack.lock.pid-namespace': 'pid:[4026532998]', 'inferstack.lock.host': c.id.slice(0, 12), 'inferstack.lock.container': c.id.slice(0, 12) };
    await handMadeLock(holder);
    await expect(tryOnce()).rejects.toThrow(new RegExp(`in container ${c.id.slice(0, 12)}`));

    await c.restart({ t: 0 });
    await (await tryOnce()).release();

    await handMadeLock(holder);
    await c.stop({ t: 0 });
    await (await tryOnce()).release();

    await c.start();
    await handMadeLock(holder);
    await expect(tryOnce()).rejects.toBeInstanceOf(LockHeldError);
    await c.remove({ force: true });
    await (await tryOnce()).release();
  });

  it("the watcher's container, killed while it holds the lock and started again, takes over its own lock (serve's code in a real container)", async () => {
    const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
    const dist = resolve(root, 'packages/docker-ops/dist/index.js');
    const script = [
      `const { acquireLock, connectDocker } = await import(${JSON.stringify(dist)});`,
      `await acquireLock(await connectDocker(), { command: 'serve watch', waitMs: 0, stack: ${JSON.stringify(stack)}, extraLabels: ${JSON.stringify(labels)} });`,
      `console.log('locked');`,
      'setInterval(() => {}, 1 << 30);',
    ].join('\n');
    const c = await docker.createContainer({
      Image: NODE,
      Cmd: ['node', '--input-type=module', '-e', script],
      Env: ['INFERSTACK_WATCHER_CONTAINER=1'],
      Labels: labels,
      HostConfig: { Binds: [`${root}:${root}:ro`, '/var/run/docker.sock:/var/run/docker.sock'] },
    });
    containers.push(c.id);
    const locks = async (times: number) => {
      for (let i = 0; i < 200; i++) {
        const logs = (await c.logs({ stdout: true, stderr: true })).toString();
        if (logs.split('locked').length - 1 >= times) return;
        const info = await c.inspect();
        if (!info.State.Running) throw new Error(`the watcher stand-in exited (${info.State.ExitCode}): ${logs}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error('the watcher stand-in never took the lock');
    };
    await c.start();
    await locks(1);
    const first = await readLockHolder(docker, stack);
    expect(first).toMatchObject({ container: c.id.slice(0, 12), command: 'serve watch' });
    // Alive: another run waits for it.
    await expect(tryOnce()).rejects.toBeInstanceOf(LockHeldError);

    await c.kill();
    await c.start();
    await locks(2);
    const second = await readLockHolder(docker, stack);
    expect(second).toMatchObject({ container: c.id.slice(0, 12), command: 'serve watch' });
    expect(second?.since).not.toBe(first?.since);
  });
});
