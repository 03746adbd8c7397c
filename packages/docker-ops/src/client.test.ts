import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDockerClient, daemonAddress, isLocalDaemon, unreachableHint } from './client.js';
import { parseDockerAddress } from './endpoint.js';
import { DaemonUnreachableError, DockerEndpointError } from './errors.js';

const dir = mkdtempSync(join(tmpdir(), 'inferstack-client-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
for (const name of ['ca.pem', 'cert.pem', 'key.pem']) writeFileSync(join(dir, name), `contents of ${name}`);
const tls = { ca: join(dir, 'ca.pem'), cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') };

/** docker-modem's settings of a client (what it will dial). */
function modem(client: ReturnType<typeof createDockerClient>) {
  const m = client.modem as unknown as Record<string, unknown>;
  return { socketPath: m.socketPath, host: m.host, port: m.port, protocol: m.protocol, ca: String(m.ca ?? ''), key: String(m.key ?? '') };
}

describe('createDockerClient', () => {
  it('builds a client for each transport, contacting nothing', () => {
    expect(modem(createDockerClient({ host: 'unix:///var/run/docker-b.sock', env: {} }))).toMatchObject({ socketPath: '/var/run/docker-b.sock', host: undefined });
    expect(modem(createDockerClient({ host: 'tcp://10.0.0.5', env: {} }))).toMatchObject({ host: '10.0.0.5', port: 2375, protocol: 'http' });
    expect(modem(createDockerClient({ host: 'tcp://10.0.0.5', tls, env: {} }))).toMatchObject({ host: '10.0.0.5', port: 2376, protocol: 'https', ca: 'contents of ca.pem', key: 'contents of key.pem' });
  });

  it('an endpoint of its own ignores the DOCKER_* environment, which docker-modem would otherwise merge in', () => {
    const saved = { ...process.env };
    try {
      Object.assign(process.env, { DOCKER_HOST: 'tcp://10.9.9.9:2376', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: dir });
      expect(modem(createDockerClient({ host: 'unix:///var/run/docker-b.sock' }))).toMatchObject({ socketPath: '/var/run/docker-b.sock', host: undefined, ca: '' });
      expect(modem(createDockerClient({ host: 'tcp://10.0.0.5' }))).toMatchObject({ host: '10.0.0.5', port: 2375, protocol: 'http', ca: '' });
    } finally {
      for (const k of ['DOCKER_HOST', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH']) {
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
      }
    }
  });

  it('takes DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH when no host is given, as the docker CLI does', () => {
    const env = { DOCKER_HOST: 'tcp://10.0.0.5', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: dir };
    expect(modem(createDockerClient({ env }))).toMatchObject({ host: '10.0.0.5', port: 2376, protocol: 'https', ca: 'contents of ca.pem' });
    expect(modem(createDockerClient({ env: { DOCKER_HOST: 'tcp://10.0.0.5:2375' } }))).toMatchObject({ protocol: 'http', ca: '' });
    expect(modem(createDockerClient({ env: {} }))).toMatchObject({ socketPath: '/var/run/docker.sock' });
    expect(() => createDockerClient({ env: { DOCKER_HOST: 'tcp://10.0.0.5', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: join(dir, 'nope') } })).toThrow(/DOCKER_TLS_VERIFY is set but .*nope\/ca\.pem does not exist/);
  });

  it('names the endpoint and the file it cannot read', () => {
    let error: DockerEndpointError | undefined;
    try {
      createDockerClient({ name: 'gpu-b', host: 'tcp://10.0.0.5', tls: { ...tls, cert: join(dir, 'missing.pem') }, env: {} });
    } catch (e) {
      error = e as DockerEndpointError;
    }
    expect(error).toBeInstanceOf(DockerEndpointError);
    expect(error?.message).toBe(`Docker endpoint gpu-b: cannot read the TLS certificate ${join(dir, 'missing.pem')} (ENOENT)`);
    expect(error?.endpoint).toBe('gpu-b');
  });
});

describe('daemonAddress and isLocalDaemon', () => {
  it('shows the address without a password, from the endpoint or DOCKER_HOST', () => {
    expect(daemonAddress({ host: 'ssh://ops:hunter2@gpu-b', env: {} })).toBe('ssh://ops:***@gpu-b');
    expect(daemonAddress({ env: { DOCKER_HOST: 'tcp://127.0.0.1:1' } })).toBe('tcp://127.0.0.1:1');
    expect(daemonAddress({ env: {} })).toBe('unix:///var/run/docker.sock');
  });

  it('is local for a unix socket or loopback tcp, and never throws', () => {
    expect(isLocalDaemon({ env: {} })).toBe(true);
    expect(isLocalDaemon({ env: { DOCKER_HOST: 'tcp://127.0.0.1:2375' } })).toBe(true);
    expect(isLocalDaemon({ host: 'tcp://10.0.0.5:2376', env: {} })).toBe(false);
    expect(isLocalDaemon({ host: 'ssh://root@127.0.0.1:2222', env: {} })).toBe(false);
    expect(isLocalDaemon({ host: 'ftp://x', env: {} })).toBe(false);
  });
});

describe('DaemonUnreachableError', () => {
  it('keeps the one-line form without a name and names the host when it has one', () => {
    expect(new DaemonUnreachableError('tcp://127.0.0.1:1', Object.assign(new Error('x'), { code: 'ECONNREFUSED' })).message).toBe('cannot reach the Docker daemon at tcp://127.0.0.1:1 (ECONNREFUSED)');
    const named = new DaemonUnreachableError('ssh://root@gpu-b', new Error('Timed out while waiting for handshake'), { endpoint: 'gpu-b', hint: 'h' });
    expect(named.message).toBe('cannot reach the Docker daemon of host gpu-b at ssh://root@gpu-b (Timed out while waiting for handshake)');
    expect(named.hint).toBe('h');
    expect(named.endpoint).toBe('gpu-b');
  });
});

describe('unreachableHint', () => {
  const ssh = parseDockerAddress('ssh://ops@gpu-b:2222');
  const tcp = parseDockerAddress('tcp://gpu-b:2376', { tls: true });
  const err = (message: string, extra: Record<string, unknown> = {}) => Object.assign(new Error(message), extra);

  it('says what to check, by transport and error', () => {
    expect(unreachableHint(parseDockerAddress('unix:///x'), err('x', { code: 'ENOENT' }))).toBeUndefined();
    expect(unreachableHint(ssh, err('All configured authentication methods failed', { level: 'client-authentication' }))).toMatch(/SSH login as ops was refused/);
    expect(unreachableHint(ssh, err('Host denied (verification failed)'))).toMatch(/host key of gpu-b:2222 differs/);
    expect(unreachableHint(ssh, err('socket hang up', { code: 'ECONNRESET' }))).toMatch(/docker system dial-stdio/);
    expect(unreachableHint(ssh, err('connect ECONNREFUSED', { code: 'ECONNREFUSED' }))).toMatch(/is sshd running/);
    expect(unreachableHint(ssh, err('no answer within 5000 ms'))).toMatch(/in time/);
    expect(unreachableHint(tcp, err('unable to verify the first certificate', { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }))).toMatch(/CA file must have signed/);
    expect(unreachableHint(parseDockerAddress('tcp://gpu-b:2376'), err('(HTTP code 400) unexpected - Client sent an HTTP request to an HTTPS server.', { statusCode: 400 }))).toMatch(/speaks TLS/);
    expect(unreachableHint(parseDockerAddress('tcp://gpu-b:2375'), err('x', { code: 'ECONNREFUSED' }))).toMatch(/nothing listens on gpu-b:2375/);
  });
});
