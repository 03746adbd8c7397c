import { describe, expect, it } from 'vitest';
import { fakeContainer, fakeSpec } from './_fixtures.js';
import { modelContainerOptions } from './container-spec.js';
import { PublishAddressError } from './errors.js';
import { drift } from './plan.js';
import { resolvePublishAddress, sameAddress } from './publish-address.js';
import { serviceContainerOptions } from './services.js';

/** A resolver answering from a table, as `dns.lookup(name, { all: true })` does. */
const table =
  (answers: Record<string, string[]>) =>
  async (name: string): Promise<Array<{ address: string; family: number }>> => {
    const found = answers[name];
    if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
    return found.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };

describe('resolvePublishAddress', () => {
  const lookup = table({
    'gpu2.lan': ['10.0.0.12'],
    localhost: ['127.0.0.1', '::1'],
    'dual.lan': ['fd00::12', '10.0.0.13'],
    'v6.lan': ['fe80::1', 'fd00::6'],
    'two.lan': ['10.0.0.1', '10.0.0.2'],
    'twice.lan': ['10.0.0.3', '10.0.0.3'],
  });

  it('keeps an IP literal as it is (IPv6 written short), without asking', async () => {
    const never = async () => {
      throw new Error('asked');
    };
    expect(await resolvePublishAddress('10.0.0.12', { lookup: never })).toEqual({ address: '10.0.0.12', ip: '10.0.0.12', resolved: false });
    expect(await resolvePublishAddress('fd00:0:0::0006', { lookup: never })).toEqual({ address: 'fd00:0:0::0006', ip: 'fd00::6', resolved: false });
  });

  it('resolves a name to its one usable address: IPv4 when it has one, link-local IPv6 never', async () => {
    expect(await resolvePublishAddress('gpu2.lan', { lookup })).toEqual({ address: 'gpu2.lan', ip: '10.0.0.12', resolved: true });
    expect((await resolvePublishAddress('localhost', { lookup })).ip).toBe('127.0.0.1');
    expect((await resolvePublishAddress('dual.lan', { lookup })).ip).toBe('10.0.0.13');
    expect((await resolvePublishAddress('v6.lan', { lookup })).ip).toBe('fd00::6');
    expect((await resolvePublishAddress('twice.lan', { lookup })).ip).toBe('10.0.0.3');
  });

  it('refuses a name with several usable addresses, or none, advising to write the IP', async () => {
    const two = await resolvePublishAddress('two.lan', { lookup }).catch((e: unknown) => e);
    expect(two).toBeInstanceOf(PublishAddressError);
    expect((two as Error).message).toBe('address two.lan resolves to 2 addresses (10.0.0.1, 10.0.0.2): a model publishes on one');
    expect((two as PublishAddressError).hint).toMatch(/write the IP address/);
    const none = await resolvePublishAddress('nowhere.lan', { lookup }).catch((e: unknown) => e);
    expect(none).toBeInstanceOf(PublishAddressError);
    expect((none as Error).message).toMatch(/address nowhere\.lan does not resolve \(ENOTFOUND\)/);
  });
});

describe('create bodies carry IP addresses only', () => {
  it('a model published on a name is a programming error: Docker would bind it on every interface', () => {
    const spec = fakeSpec('remote');
    expect(() => modelContainerOptions(spec, { network: 'n', argvStyle: 'serve', publishOn: 'gpu2.lan' })).toThrow(/not an IP address/);
    expect(modelContainerOptions(spec, { network: 'n', argvStyle: 'serve', publishOn: '::1' }).HostConfig?.PortBindings).toEqual({ '8000/tcp': [{ HostIp: '::1', HostPort: '' }] });
  });

  it('so is a service port on a name', () => {
    const service = { kind: 'node-exporter', name: 'node-exporter', image: 'x', pullPolicy: 'missing' as const, ports: [{ container: 9100, host: 0, hostIp: 'gpu2.lan' }] };
    expect(() => serviceContainerOptions(service as never, 'h')).toThrow(/not an IP address/);
  });

  it('drift compares addresses as IPs (fd00::6 is fd00:0::6)', () => {
    expect(sameAddress('fd00::6', 'fd00:0:0::6')).toBe(true);
    expect(sameAddress('10.0.0.1', '10.0.0.2')).toBe(false);
    const spec = fakeSpec('remote');
    const container = { published: { address: 'fd00::6', port: 32768 } };
    expect(drift(spec, { ...fakeContainer(spec), ...container }, undefined, 'fd00:0::6')).toEqual([]);
    expect(drift(spec, { ...fakeContainer(spec), published: { address: '0.0.0.0', port: 32768 } }, undefined, '10.0.0.12')).toEqual(['address']);
  });
});
