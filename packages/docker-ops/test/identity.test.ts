// A stack's identity (its spec-hash key, home and adopted containers) survives a replacement
// that stops half-way: every state the replacement passes through is made here by hand on the
// real daemon, and a kill between two steps is a daemon call that fails there.
import { randomBytes } from 'node:crypto';
import Docker from 'dockerode';
import { afterAll, describe, expect, it } from 'vitest';
import { LOCK_IMAGE, claimContainers, ensureStackIdentity, identityContainerName, listClaims, readStackIdentity, removeStackIdentity } from '../src/index.js';
import { ensureLockImage } from '../src/lock.js';

const docker = new Docker();
const session = process.env.INFERSTACK_TEST_SESSION ?? `local-${process.pid}`;
const tag = randomBytes(3).toString('hex');
let n = 0;
const stacks: string[] = [];

function newStack(): string {
  const stack = `idt${tag}-${n++}`;
  stacks.push(stack);
  return stack;
}

/** A copy of an identity, as a replacement leaves it under `name`. */
async function copy(stack: string, name: string, hashKey: string, claims: string[]): Promise<string> {
  await ensureLockImage(docker);
  const c = await docker.createContainer({
    name,
    Image: LOCK_IMAGE,
    Cmd: ['identity'],
    Env: [`INFERSTACK_HASH_KEY=${hashKey}`, 'INFERSTACK_HOME=/home/first'],
    Labels: { 'inferstack.test': session, 'inferstack.kind': 'identity', 'inferstack.stack': stack, 'inferstack.claims': claims.join(',') },
  });
  return c.id;
}

/** The names of the identity containers of `stack` (any copy). */
async function identityNames(stack: string): Promise<string[]> {
  const list = await docker.listContainers({ all: true, filters: { label: ['inferstack.kind=identity', `inferstack.stack=${stack}`] } });
  return list.map((c) => c.Names[0]!.replace(/^\//, '')).sort();
}

async function removeAll(stack: string) {
  const list = await docker.listContainers({ all: true, filters: { label: [`inferstack.stack=${stack}`, `inferstack.test=${session}`] } });
  await Promise.all(list.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => {})));
}

afterAll(async () => {
  for (const s of stacks) await removeAll(s);
});

describe("a stack's identity, replaced half-way", () => {
  const key = 'a'.repeat(64);
  const ids = { a: 'aaaaaaaaaaaa', b: 'bbbbbbbbbbbb', c: 'cccccccccccc' };

  // Each state a replacement (or a version before copies were named so) can leave; the copy
  // that should win and the claims it holds.
  // `claimed`: the claims after the next change (a copy beside the identity holds claims of a
  // run that was cut off: they are kept). @default [...claims, ids.c]
  const states: Array<{ state: string; make: (name: string) => Array<[string, string[]]>; claims: string[]; claimed?: string[] }> = [
    { state: 'only the new copy (made beside, old one gone)', make: (name) => [[`${name}.next`, [ids.a, ids.b]]], claims: [ids.a, ids.b] },
    { state: "only the earlier versions' -next copy", make: (name) => [[`${name}-next`, [ids.a, ids.b]]], claims: [ids.a, ids.b] },
    { state: 'only the copy put aside', make: (name) => [[`${name}.old`, [ids.a]]], claims: [ids.a] },
    { state: 'the copy put aside and the new one, none in place', make: (name) => [[`${name}.old`, [ids.a]], [`${name}.next`, [ids.a, ids.b]]], claims: [ids.a, ids.b] },
    { state: 'the identity in place and a new copy beside it', make: (name) => [[name, [ids.a]], [`${name}.next`, [ids.a, ids.b]]], claims: [ids.a], claimed: [ids.a, ids.b, ids.c] },
    { state: 'the new identity in place and the old one aside', make: (name) => [[name, [ids.a, ids.b]], [`${name}.old`, [ids.a]]], claims: [ids.a, ids.b] },
    { state: 'all three', make: (name) => [[name, [ids.a, ids.b]], [`${name}.old`, [ids.a]], [`${name}.next`, [ids.a, ids.b]]], claims: [ids.a, ids.b] },
  ];

  for (const { state, make, claims, claimed: after = [...claims, ids.c] } of states) {
    it(`${state}: read finds the same key, ensure puts one identity in place and makes no new key`, async () => {
      const stack = newStack();
      const name = identityContainerName(stack);
      for (const [copyName, copyClaims] of make(name)) await copy(stack, copyName, key, copyClaims);

      const read = await readStackIdentity(docker, stack);
      expect(read).toMatchObject({ hashKey: key, home: '/home/first', claims });
      // No seed key: a new identity would get a random one.
      const ensured = await ensureStackIdentity(docker, stack, { home: '/home/second', extraLabels: { 'inferstack.test': session } });
      expect(ensured).toMatchObject({ hashKey: key, home: '/home/first', claims });
      // None in place: ensure puts the copy there. One in place is the identity; the copies
      // beside it are harmless and go with the next change.
      if (!make(name).some(([copyName]) => copyName === name)) expect(await identityNames(stack)).toEqual([name]);
      expect(await readStackIdentity(docker, stack)).toMatchObject({ hashKey: key, claims, id: ensured.id });
      const claimed = await claimContainers(docker, ensured, [ids.c], { 'inferstack.test': session });
      expect(claimed).toMatchObject({ hashKey: key, home: '/home/first', claims: after });
      expect(await identityNames(stack)).toEqual([name]);
      expect(await readStackIdentity(docker, stack)).toMatchObject({ hashKey: key, claims: after, id: claimed.id });
    });
  }

  it("ignores the identity of a stack named like a copy (stack x-next is not stack x's -next copy)", async () => {
    const stack = newStack();
    const other = `${stack}-next`;
    stacks.push(other);
    await copy(other, identityContainerName(other), 'b'.repeat(64), []);
    expect(await readStackIdentity(docker, stack)).toBeUndefined();
    const made = await ensureStackIdentity(docker, stack, { hashKey: key, home: '/h', extraLabels: { 'inferstack.test': session } });
    expect(made.hashKey).toBe(key);
    expect(await readStackIdentity(docker, other)).toMatchObject({ hashKey: 'b'.repeat(64) });
  });

  it('down --all removes every copy', async () => {
    const stack = newStack();
    const name = identityContainerName(stack);
    await copy(stack, name, key, []);
    await copy(stack, `${name}.old`, key, []);
    await copy(stack, `${name}.next`, key, []);
    await removeStackIdentity(docker, stack);
    expect(await identityNames(stack)).toEqual([]);
    expect(await readStackIdentity(docker, stack)).toBeUndefined();
  });
});

describe('recording adopted containers, killed between two steps', () => {
  const key = 'c'.repeat(64);
  const first = 'dddddddddddd';
  const second = 'eeeeeeeeeeee';
  const third = 'ffffffffffff';

  /**
   * A client on which the `step`-th change to a container (create, rename, remove) fails, as if
   * the process died just before it: nothing after it happens.
   */
  function killedAt(step: number) {
    let changes = 0;
    const die = () => {
      changes += 1;
      if (changes === step) throw Object.assign(new Error(`killed before change ${step}`), { statusCode: 500 });
    };
    const bind = (o: object, p: string | symbol) => {
      const v = (o as Record<string | symbol, unknown>)[p];
      return typeof v === 'function' ? v.bind(o) : v;
    };
    return new Proxy(docker, {
      get(target, prop) {
        if (prop === 'createContainer') {
          return async (...args: Parameters<Docker['createContainer']>) => {
            die();
            return target.createContainer(...args);
          };
        }
        if (prop !== 'getContainer') return bind(target, prop);
        return (id: string) =>
          new Proxy(target.getContainer(id), {
            get(c, p) {
              if (p !== 'rename' && p !== 'remove') return bind(c, p);
              return async (...args: unknown[]) => {
                die();
                return (c[p] as (...a: unknown[]) => Promise<unknown>).apply(c, args);
              };
            },
          });
      },
    });
  }

  // 1: make the new copy, 2: rename the old one aside, 3: rename the new one into place, 4: remove the old one.
  for (const step of [1, 2, 3, 4]) {
    it(`killed before change ${step}: the key stays, the next run repairs the identity and records the claim`, async () => {
      const stack = newStack();
      const name = identityContainerName(stack);
      const made = await ensureStackIdentity(docker, stack, { hashKey: key, home: '/home/first', extraLabels: { 'inferstack.test': session } });
      const withFirst = await claimContainers(docker, made, [first], { 'inferstack.test': session });
      expect(withFirst.claims).toEqual([first]);

      await expect(claimContainers(killedAt(step), withFirst, [second], { 'inferstack.test': session })).rejects.toThrow(/cannot record what stack/);

      // Whatever was left, the stack has its key and at least the claims it had.
      const read = await readStackIdentity(docker, stack);
      expect(read?.hashKey).toBe(key);
      expect(read?.claims).toContain(first);
      expect((await listClaims(docker)).get(first)).toBe(stack);
      const ensured = await ensureStackIdentity(docker, stack, { home: '/home/second', extraLabels: { 'inferstack.test': session } });
      expect(ensured).toMatchObject({ hashKey: key, home: '/home/first' });

      // The next change, on a client that is not killed, keeps what the cut-off one recorded
      // beside the identity and leaves one identity.
      const again = await claimContainers(docker, ensured, [third], { 'inferstack.test': session });
      const recorded = step === 1 ? [first, third] : [first, second, third];
      expect(again.claims).toEqual(recorded);
      expect(await readStackIdentity(docker, stack)).toMatchObject({ hashKey: key, claims: recorded });
      expect(await identityNames(stack)).toEqual([name]);
    });
  }
});
