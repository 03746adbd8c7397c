import { describe, expect, it } from 'vitest';
import { fakeContainer, fakeSpec } from './_fixtures.js';
import { containersOfStack, demuxLogs, toModelContainer } from './containers.js';

describe('containersOfStack', () => {
  it("is the stack's by label whatever the network; another stack's never; the old tool's by adoption", () => {
    const labelled = (key: string, stack: string) => fakeContainer(fakeSpec(key), { labels: { 'inference.managed': 'true', 'inference.model': key, 'inferstack.stack': stack }, id: `id-${key}` });
    const a = labelled('a', 'alpha');
    const b = labelled('b', 'beta');
    const old = fakeContainer(fakeSpec('old'), { labels: { 'inference.managed': 'true', 'inference.model': 'old' }, id: 'abcdef0123456789' });
    const all = [a, b, old];
    // Both stacks on the default network: neither sees the other's models (no orphans).
    expect(containersOfStack(all, { name: 'alpha', network: 'inference_default', keys: [] }).map((c) => c.key)).toEqual(['a', 'old']);
    expect(containersOfStack(all, { name: 'beta', network: 'inference_default', keys: ['a'] }).map((c) => c.key)).toEqual(['b', 'old']);
    // Once beta adopted the old one, alpha leaves it alone.
    const claims = new Map([['abcdef012345', 'beta']]);
    expect(containersOfStack(all, { name: 'alpha', network: 'inference_default', keys: ['old'], claims }).map((c) => c.key)).toEqual(['a']);
    expect(containersOfStack(all, { name: 'beta', network: 'inference_default', keys: [], claims }).map((c) => c.key)).toEqual(['b', 'old']);
  });

  it("keeps this stack's models and what is on its network, never another stack's", () => {
    const mine = fakeContainer(fakeSpec('a'));
    const strayOnMyNet = fakeContainer(fakeSpec('old'));
    const other = toModelContainer({ ...rawOf('other'), HostConfig: { NetworkMode: 'other_net' }, NetworkSettings: { Networks: { other_net: { IPAddress: '10.0.0.2' } } } } as never);
    const all = [mine, strayOnMyNet, other];
    expect(containersOfStack(all, { network: 'inference_default', keys: ['a'] }).map((c) => c.key)).toEqual(['a', 'old']);
    expect(containersOfStack(all, { network: 'other_net', keys: [] }).map((c) => c.key)).toEqual(['other']);
  });
});

function rawOf(key: string) {
  return {
    Id: key,
    Names: [`/inference-${key}`],
    Image: 'i',
    ImageID: 'x',
    Command: '',
    Created: 0,
    Ports: [],
    Labels: { 'inference.managed': 'true', 'inference.model': key },
    State: 'running',
    Status: 'Up',
    Mounts: [],
  };
}

describe('demuxLogs', () => {
  it('joins the payloads of Docker multiplexed frames and passes TTY text through', () => {
    const frame = (stream: number, text: string) => {
      const body = Buffer.from(text);
      const head = Buffer.alloc(8);
      head[0] = stream;
      head.writeUInt32BE(body.length, 4);
      return Buffer.concat([head, body]);
    };
    expect(demuxLogs(Buffer.concat([frame(1, 'out\n'), frame(2, 'err\n')]))).toBe('out\nerr\n');
    expect(demuxLogs(Buffer.from('plain tty output\n'))).toBe('plain tty output\n');
  });
});
