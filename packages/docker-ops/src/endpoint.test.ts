import { describe, expect, it } from 'vitest';
import { isLocalAddress, parseDockerAddress, redactAddress } from './endpoint.js';
import { DockerEndpointError } from './errors.js';

describe('parseDockerAddress', () => {
  it('splits each transport, filling in default ports', () => {
    expect(parseDockerAddress('unix:///var/run/docker-b.sock')).toEqual({ transport: 'unix', display: 'unix:///var/run/docker-b.sock', socketPath: '/var/run/docker-b.sock' });
    expect(parseDockerAddress('unix://').socketPath).toBe('/var/run/docker.sock');
    expect(parseDockerAddress('npipe:////./pipe/docker_engine')).toMatchObject({ transport: 'npipe', socketPath: '//./pipe/docker_engine' });
    expect(parseDockerAddress('tcp://10.0.0.5')).toMatchObject({ transport: 'tcp', hostname: '10.0.0.5', port: 2375, tls: false });
    expect(parseDockerAddress('tcp://10.0.0.5', { tls: true })).toMatchObject({ port: 2376, tls: true });
    expect(parseDockerAddress('tcp://gpu-b:12376', { tls: true })).toMatchObject({ hostname: 'gpu-b', port: 12376 });
    expect(parseDockerAddress('https://gpu-b')).toMatchObject({ transport: 'tcp', port: 2376, tls: true });
    expect(parseDockerAddress('gpu-b:2375')).toMatchObject({ transport: 'tcp', hostname: 'gpu-b', port: 2375, display: 'gpu-b:2375' });
    expect(parseDockerAddress('ssh://gpu-b')).toEqual({ transport: 'ssh', display: 'ssh://gpu-b', hostname: 'gpu-b', port: 22 });
    expect(parseDockerAddress('ssh://ops@gpu-b:2222')).toMatchObject({ transport: 'ssh', hostname: 'gpu-b', port: 2222, username: 'ops' });
    expect(parseDockerAddress('ssh://root@[::1]:2222')).toMatchObject({ hostname: '::1', port: 2222 });
  });

  it('keeps a password out of the display form, but hands it on', () => {
    const a = parseDockerAddress('ssh://ops:hunter2@gpu-b:2222');
    expect(a.display).toBe('ssh://ops:***@gpu-b:2222');
    expect(a.password).toBe('hunter2');
    expect(redactAddress('tcp://u:p%40ss@h:1')).toBe('tcp://u:***@h:1');
    expect(redactAddress('ssh://ops@gpu-b')).toBe('ssh://ops@gpu-b');
  });

  it('refuses what is not a Docker address, without showing a password', () => {
    expect(() => parseDockerAddress('ftp://gpu-b')).toThrow(DockerEndpointError);
    expect(() => parseDockerAddress('ftp://gpu-b')).toThrow('Docker endpoint ftp://gpu-b: unsupported scheme ftp://');
    expect(() => parseDockerAddress('ssh://gpu-b/var/run/docker.sock')).toThrow(/an ssh:\/\/ address has no path/);
    let error: DockerEndpointError | undefined;
    try {
      parseDockerAddress('gopher://ops:hunter2@gpu-b');
    } catch (e) {
      error = e as DockerEndpointError;
    }
    expect(error?.message).not.toContain('hunter2');
    expect(error?.hint).toMatch(/ssh:\/\/user@host/);
  });
});

describe('isLocalAddress', () => {
  it('is a unix socket or tcp on loopback', () => {
    const local = (a: string) => isLocalAddress(parseDockerAddress(a));
    expect(local('unix:///var/run/docker.sock')).toBe(true);
    expect(local('tcp://127.0.0.1:2375')).toBe(true);
    expect(local('tcp://127.0.0.2:2375')).toBe(true);
    expect(local('tcp://localhost')).toBe(true);
    expect(local('tcp://[::1]:2375')).toBe(true);
    expect(local('tcp://10.0.0.5:2375')).toBe(false);
    expect(local('tcp://127.0.0.1.example.com:2375')).toBe(false);
    expect(local('ssh://root@127.0.0.1:2222')).toBe(false);
    expect(local('npipe:////./pipe/docker_engine')).toBe(false);
  });
});
