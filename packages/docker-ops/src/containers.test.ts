import { describe, expect, it } from 'vitest';
import { fakeContainer, fakeSpec } from './_fixtures.js';
import { containersOfStack, demuxLogs, toModelContainer } from './containers.js';

describe('containersOfStack', () => {
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
