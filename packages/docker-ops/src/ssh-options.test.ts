import { describe, expect, it } from 'vitest';
import { parseDockerAddress } from './endpoint.js';
import { DockerEndpointError } from './errors.js';
import { privateKeyIsEncrypted, sshLogin } from './ssh-options.js';

/** An OpenSSH private key file whose body starts with the given cipher name (the rest is irrelevant here). */
function opensshKey(cipher: string): string {
  const name = Buffer.from(cipher, 'latin1');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(name.length);
  const blob = Buffer.concat([Buffer.from('openssh-key-v1\0', 'latin1'), length, name, Buffer.alloc(32, 7)]);
  const body = blob.toString('base64').replace(/(.{70})/g, '$1\n');
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${body}\n-----END OPENSSH PRIVATE KEY-----\n`;
}

const PLAIN_KEY = opensshKey('none');
const ENCRYPTED_KEY = opensshKey('aes256-ctr');
const HOST_KEY = 'AAAAC3NzaC1lZDI1NTE5AAAAIG680os2k2Cc4M+tKuU542HsWmC9aM1gCWm2k52Z8dtW';

describe('privateKeyIsEncrypted', () => {
  it('reads the cipher of OpenSSH keys and the markers of PEM keys', () => {
    expect(privateKeyIsEncrypted(PLAIN_KEY)).toBe(false);
    expect(privateKeyIsEncrypted(ENCRYPTED_KEY)).toBe(true);
    expect(privateKeyIsEncrypted('-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----')).toBe(true);
    expect(privateKeyIsEncrypted('-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----')).toBe(true);
    expect(privateKeyIsEncrypted('-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----')).toBe(false);
  });
});

describe('sshLogin', () => {
  /** A fake file system: path → contents. */
  function context(files: Record<string, string>, env: NodeJS.ProcessEnv = { HOME: '/home/ops' }) {
    return {
      env,
      exists: (path: string) => path in files,
      read: (what: string, path: string) => {
        if (!(path in files)) throw new DockerEndpointError('test', `cannot read the ${what} ${path} (ENOENT)`);
        return Buffer.from(files[path]!);
      },
    };
  }
  const knownHosts = { '/home/ops/.ssh/known_hosts': `[gpu-b]:2222 ssh-ed25519 ${HOST_KEY}\n` };
  const address = parseDockerAddress('ssh://ops@gpu-b:2222');

  it('logs in with the given key and checks the host key against known_hosts', () => {
    const login = sshLogin(address, { privateKeyPath: '/keys/id' }, context({ '/keys/id': PLAIN_KEY, ...knownHosts }));
    expect(login.username).toBe('ops');
    expect(login.sshOptions.privateKey?.toString()).toBe(PLAIN_KEY);
    expect(login.sshOptions.agent).toBeUndefined();
    expect(login.sshOptions.algorithms?.serverHostKey).toEqual(['ssh-ed25519']);
    expect(login.sshOptions.readyTimeout).toBe(10_000);
    const verify = login.sshOptions.hostVerifier as (key: Buffer) => boolean;
    expect(verify(Buffer.from(HOST_KEY, 'base64'))).toBe(true);
    expect(verify(Buffer.from('something else'))).toBe(false);
  });

  it('uses the agent from SSH_AUTH_SOCK, else the first unencrypted default key', () => {
    const withAgent = sshLogin(address, {}, context({ '/home/ops/.ssh/id_ed25519': PLAIN_KEY, ...knownHosts }, { HOME: '/home/ops', SSH_AUTH_SOCK: '/run/agent' }));
    expect(withAgent.sshOptions.agent).toBe('/run/agent');
    expect(withAgent.sshOptions.privateKey).toBeUndefined();
    const noAgent = sshLogin(address, {}, context({ '/home/ops/.ssh/id_ed25519': ENCRYPTED_KEY, '/home/ops/.ssh/id_rsa': PLAIN_KEY, ...knownHosts }));
    expect(noAgent.sshOptions.privateKey?.toString()).toBe(PLAIN_KEY);
    expect(sshLogin(address, { agent: false, privateKeyPath: '/k' }, context({ '/k': PLAIN_KEY, ...knownHosts }, { HOME: '/home/ops', SSH_AUTH_SOCK: '/run/agent' })).sshOptions.agent).toBeUndefined();
  });

  it('says before connecting what is missing: a key, a passphrase, the host in known_hosts', () => {
    expect(() => sshLogin(address, {}, context({ ...knownHosts }))).toThrow(/no SSH key to log in with/);
    expect(() => sshLogin(address, { privateKeyPath: '/k' }, context({ '/k': ENCRYPTED_KEY, ...knownHosts }))).toThrow(/\/k is encrypted/);
    expect(sshLogin(address, { privateKeyPath: '/k', passphrase: 'pw' }, context({ '/k': ENCRYPTED_KEY, ...knownHosts })).sshOptions.passphrase).toBe('pw');
    expect(() => sshLogin(address, { privateKeyPath: '/k' }, context({ '/k': PLAIN_KEY }))).toThrow(/no known_hosts file \/home\/ops\/\.ssh\/known_hosts .*\[gpu-b\]:2222/);
    let error: DockerEndpointError | undefined;
    try {
      sshLogin(parseDockerAddress('ssh://ops@gpu-c:2222'), { privateKeyPath: '/k' }, context({ '/k': PLAIN_KEY, ...knownHosts }));
    } catch (e) {
      error = e as DockerEndpointError;
    }
    expect(error?.message).toBe('Docker endpoint ssh://ops@gpu-c:2222: /home/ops/.ssh/known_hosts lists no usable host key for [gpu-c]:2222');
    expect(error?.hint).toContain('ssh-keyscan -p 2222 gpu-c >> /home/ops/.ssh/known_hosts');
  });

  it('accepts any host key only when asked to (knownHostsPath: false)', () => {
    const login = sshLogin(address, { privateKeyPath: '/k', knownHostsPath: false }, context({ '/k': PLAIN_KEY }));
    expect(login.sshOptions.hostVerifier).toBeUndefined();
  });
});
