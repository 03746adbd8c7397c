import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import type { DockerAddress } from './endpoint.js';
import { DockerEndpointError } from './errors.js';
import { hostKeyAlgorithms, knownHostKeys, knownHostsName } from './known-hosts.js';

/**
 * How to log in to an `ssh://` endpoint. docker-modem opens one SSH connection (through ssh2,
 * not the `ssh` program: ~/.ssh/config is not read) per API request and runs
 * `docker system dial-stdio` there, so the remote host needs the docker CLI (18.09 or later) on
 * the login's PATH.
 */
export interface DockerSshOptions {
  /**
   * Private key file (OpenSSH or PEM format).
   * @default the agent at SSH_AUTH_SOCK; without one, the first unencrypted of ~/.ssh/id_ed25519, id_ecdsa, id_rsa
   */
  privateKeyPath?: string;
  /** Passphrase of an encrypted `privateKeyPath`. A secret: never shown. */
  passphrase?: string;
  /** ssh-agent socket, tried after the key; `false`: none. @default env.SSH_AUTH_SOCK */
  agent?: string | false;
  /**
   * `known_hosts` file that must list the host's key (as OpenSSH checks it); `false` accepts any
   * host key (open to a man in the middle: only for throw-away hosts).
   * @default ~/.ssh/known_hosts
   */
  knownHostsPath?: string | false;
  /** Give up on one SSH handshake after this long. @default 10_000 */
  readyTimeoutMs?: number;
}

/** ssh2's connection settings, as docker-modem passes them on. */
export type SshConnectConfig = NonNullable<Docker.DockerOptions['sshOptions']>;

/** Reads a file the endpoint names; throws DockerEndpointError saying which one when it cannot. */
export type EndpointFileReader = (what: string, path: string) => Buffer;

/** What docker-modem needs for an ssh:// endpoint. */
export interface SshLogin {
  username: string;
  password?: string;
  sshOptions: SshConnectConfig;
}

const DEFAULT_KEYS = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

/**
 * The login for an `ssh://` address: user (from the address, else the local user, as ssh does),
 * key and agent, and a host key check against known_hosts. Reads the key and known_hosts files
 * (through `read`); contacts nothing.
 * @throws DockerEndpointError when there is no usable key or agent, an encrypted key lacks its
 *   passphrase, or known_hosts does not list the host
 */
export function sshLogin(
  address: DockerAddress,
  options: DockerSshOptions,
  context: { env: NodeJS.ProcessEnv; read: EndpointFileReader; exists: (path: string) => boolean },
): SshLogin {
  const { env, read, exists } = context;
  const home = env.HOME || homedir();
  const fail = (message: string, hint: string): never => {
    throw new DockerEndpointError(address.display, message, { hint });
  };
  const sshOptions: SshConnectConfig = { readyTimeout: options.readyTimeoutMs ?? 10_000 };

  const agent = options.agent === false ? undefined : (options.agent ?? env.SSH_AUTH_SOCK) || undefined;
  if (agent) sshOptions.agent = agent;
  if (options.privateKeyPath) {
    const key = read('SSH private key', options.privateKeyPath);
    if (privateKeyIsEncrypted(key.toString('latin1')) && !options.passphrase) {
      fail(`the SSH private key ${options.privateKeyPath} is encrypted`, 'give its passphrase (ssh.passphrase), or load the key into ssh-agent and leave privateKeyPath out');
    }
    sshOptions.privateKey = key;
    if (options.passphrase) sshOptions.passphrase = options.passphrase;
  } else if (!agent) {
    // No agent: the default identities, as ssh tries them (an encrypted one needs the agent).
    for (const name of DEFAULT_KEYS) {
      const path = join(home, '.ssh', name);
      if (!exists(path)) continue;
      const key = read('SSH private key', path);
      if (privateKeyIsEncrypted(key.toString('latin1'))) continue;
      sshOptions.privateKey = key;
      break;
    }
    if (!sshOptions.privateKey && !address.password) {
      fail('no SSH key to log in with', `set ssh.privateKeyPath, or run an ssh-agent (SSH_AUTH_SOCK) holding the key, or create ~/.ssh/${DEFAULT_KEYS[0]}`);
    }
  }

  if (options.knownHostsPath !== false) {
    const file = options.knownHostsPath ?? join(home, '.ssh', 'known_hosts');
    const host = knownHostsName(address.hostname ?? '', address.port ?? 22);
    const scan = `ssh-keyscan ${address.port && address.port !== 22 ? `-p ${address.port} ` : ''}${address.hostname} >> ${file}`;
    if (!exists(file)) fail(`no known_hosts file ${file} to check the host key of ${host} against`, `add the host's key (e.g. ${scan}, then compare its fingerprint) or set ssh.knownHostsPath`);
    const { keys, revoked } = knownHostKeys(read('known_hosts file', file).toString('utf8'), address.hostname ?? '', address.port ?? 22);
    const accepted = new Set(keys.map((k) => k.key).filter((k) => !revoked.includes(k)));
    const algorithms = hostKeyAlgorithms(keys.filter((k) => accepted.has(k.key)).map((k) => k.type));
    if (accepted.size === 0 || algorithms.length === 0) {
      fail(`${file} lists no usable host key for ${host}`, `add the host's key (e.g. ${scan}, then compare its fingerprint)`);
    }
    sshOptions.algorithms = { serverHostKey: algorithms as never };
    // ssh2 hands over the host key blob, the same bytes known_hosts holds in base64.
    sshOptions.hostVerifier = (key: Buffer) => accepted.has(key.toString('base64'));
  }

  return {
    username: address.username ?? userInfo().username,
    ...(address.password ? { password: address.password } : {}),
    sshOptions,
  };
}

/**
 * Whether a private key file is encrypted: PEM with `Proc-Type: 4,ENCRYPTED`, PKCS#8
 * `ENCRYPTED PRIVATE KEY`, or an OpenSSH key whose cipher is not `none`. Pure.
 */
export function privateKeyIsEncrypted(text: string): boolean {
  if (/^Proc-Type:\s*4,ENCRYPTED/m.test(text) || text.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----')) return true;
  const body = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]*?)-----END OPENSSH PRIVATE KEY-----/.exec(text)?.[1];
  if (!body) return false;
  // openssh-key-v1 format: the magic, then the cipher name as a length-prefixed string.
  const blob = Buffer.from(body.replace(/\s+/g, ''), 'base64');
  const magic = 'openssh-key-v1\0';
  if (blob.length < magic.length + 4 || blob.subarray(0, magic.length).toString('latin1') !== magic) return false;
  const length = blob.readUInt32BE(magic.length);
  return blob.subarray(magic.length + 4, magic.length + 4 + length).toString('latin1') !== 'none';
}
