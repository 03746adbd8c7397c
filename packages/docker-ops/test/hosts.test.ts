// Docker endpoints against real daemons: host b (a second dockerd on this machine, started by
// scripts/ensure-docker-b.sh) over its unix socket, tcp with mutual TLS, plain tcp and ssh, and
// daemon A over ssh; endpoints that cannot work fail fast, say why, and show no secret.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerB, dockerOnB, removeSessionResourcesOnB, type DockerB } from '../../../test/support/docker-b.js';
import { docker, NODE_IMAGE, sessionLabel, STANDIN_IMAGE, TEST_LABEL_KEY, testSession } from '../../../test/support/docker.js';
import { connectDocker, containerLogs, createDockerClient, DaemonUnreachableError, DockerEndpointError, isLocalDaemon, modelRequest, type ConnectOptions, type DockerClient } from '../src/index.js';

const run = promisify(execFile);
const session = testSession();
const tmp = mkdtempSync(join(tmpdir(), 'inferstack-hosts-'));
const servers: net.Server[] = [];
let b: DockerB;

beforeAll(async () => {
  b = await dockerB();
});

afterAll(async () => {
  for (const s of servers) s.close();
  rmSync(tmp, { recursive: true, force: true });
  if (b) await removeSessionResourcesOnB(session);
});

/** A server on 127.0.0.1 (random port); closed after the file. */
async function listen(onConnection: (socket: net.Socket) => void): Promise<number> {
  const server = net.createServer(onConnection);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const timed = async <T>(f: () => Promise<T>): Promise<{ value: T; ms: number }> => {
  const start = performance.now();
  const value = await f();
  return { value, ms: Math.round(performance.now() - start) };
};

/**
 * `node -e` for a client container: GET argv[1] until it answers (each try bounded: a dropped
 * connection must not hang), print "<status> <body>"; exit 1 after 20 s without an answer.
 */
const GET_SCRIPT = `const url = process.argv[1];
  const once = () => new Promise((ok, ko) => {
    const req = require('http').get(url, { timeout: 2000 }, (r) => { let b = ''; r.on('data', (c) => (b += c)); r.on('end', () => ok(r.statusCode + ' ' + b)); });
    req.on('timeout', () => req.destroy(new Error('timeout'))).on('error', ko);
  });
  (async () => {
    const deadline = Date.now() + 20000;
    for (;;) {
      try { console.log(await once()); return; } catch (e) {
        if (Date.now() > deadline) { console.error(String(e)); process.exit(1); }
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  })();`;

/** A container's round trip through one client: create, start, list by label, logs, remove. */
async function containerRoundTrip(client: DockerClient, transport: string): Promise<void> {
  const labels = { [TEST_LABEL_KEY]: session, 'inferstack.test.transport': transport };
  const filters = { label: Object.entries(labels).map(([k, v]) => `${k}=${v}`) };
  const container = await client.createContainer({
    name: `inferstack-test-${session}-hosts-${transport}`,
    Image: STANDIN_IMAGE,
    Cmd: ['Qwen/Qwen3-0.6B', '--port', '8000', '--host', '0.0.0.0'],
    Env: ['STANDIN_LOAD_DELAY=0'],
    Labels: labels,
  });
  await container.start();
  const listed = await client.listContainers({ all: true, filters });
  expect(listed.map((c) => c.Id)).toEqual([container.id]);
  // It is on B, not on A.
  expect((await dockerOnB(['ps', '-q', '--no-trunc', '--filter', `id=${container.id}`])).stdout.trim()).toBe(container.id);
  expect((await docker(['ps', '-aq', '--no-trunc', '--filter', `id=${container.id}`])).stdout.trim()).toBe('');
  // docker-ops' own log reading (a multiplexed stream) works over the transport too.
  let logs = '';
  for (let i = 0; i < 100 && !logs.includes('Application startup complete.'); i++) {
    logs = await containerLogs(client, container.id);
    if (!logs.includes('Application startup complete.')) await new Promise((r) => setTimeout(r, 100));
  }
  expect(logs).toContain('Application startup complete.');
  // An exec attached to its output (a hijacked connection), as the model's own routes of a remote host are reached.
  const health = await modelRequest(client, { id: container.id, addresses: {} }, { network: 'none', local: false }, 'GET', '/health');
  expect(health.status).toBe(200);
  await container.remove({ force: true });
  expect(await client.listContainers({ all: true, filters })).toEqual([]);
}

describe('host b over each transport', () => {
  const cases: Array<[string, () => ConnectOptions]> = [
    ['unix', () => b.unix],
    ['tls', () => b.tls],
    ['ssh', () => b.ssh],
  ];
  for (const [transport, endpoint] of cases) {
    it(`${transport}: connects, reaches daemon B, creates, lists and removes a labelled container`, async () => {
      const { value: client, ms: connectMs } = await timed(() => connectDocker(endpoint()));
      const { value: info, ms: infoMs } = await timed(() => client.info());
      expect(info.ID).toBe(b.id);
      expect(info.ID).not.toBe(b.idA);
      const { ms: roundTripMs } = await timed(() => containerRoundTrip(client, transport));
      console.log(`hosts: ${transport} (${endpoint().host}): connect+ping ${connectMs} ms, info ${infoMs} ms, container round trip ${roundTripMs} ms`);
    });
  }

  it('tls: DOCKER_HOST with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH, as the docker CLI reads them', async () => {
    const env = { DOCKER_HOST: b.tls.host, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: dirname(b.tls.tls.ca) };
    const client = await connectDocker({ env });
    expect((await client.info()).ID).toBe(b.id);
    expect(isLocalDaemon({ env })).toBe(true);
  });

  it('plain tcp (through a loopback relay to B\'s socket) keeps working as before', async () => {
    const socketPath = b.unix.host.slice('unix://'.length);
    const port = await listen((socket) => {
      const upstream = net.connect(socketPath);
      socket.pipe(upstream).pipe(socket);
      socket.on('error', () => upstream.destroy());
      upstream.on('error', () => socket.destroy());
    });
    const host = `tcp://127.0.0.1:${port}`;
    const client = await connectDocker({ host });
    expect((await client.info()).ID).toBe(b.id);
    expect(isLocalDaemon({ host })).toBe(true);
  });

  it('ssh: the port of daemon A reaches A (one sshd, each port its own DOCKER_HOST)', async () => {
    const client = await connectDocker(b.sshA);
    expect((await client.info()).ID).toBe(b.idA);
    expect(isLocalDaemon({ host: b.sshA.host })).toBe(false);
  });

  it('a model on B published on the bridge address is reachable from a container on A', async () => {
    const client = await connectDocker(b.ssh);
    const container = await client.createContainer({
      name: `inferstack-test-${session}-hosts-published`,
      Image: STANDIN_IMAGE,
      Cmd: ['Qwen/Qwen3-0.6B', '--port', '8000', '--host', '0.0.0.0'],
      Env: ['STANDIN_LOAD_DELAY=0'],
      Labels: { [TEST_LABEL_KEY]: session },
      ExposedPorts: { '8000/tcp': {} },
      HostConfig: { PortBindings: { '8000/tcp': [{ HostIp: b.bridgeAddress, HostPort: '' }] } },
    });
    await container.start();
    const binding = (await container.inspect()).NetworkSettings.Ports['8000/tcp']?.[0];
    expect(binding?.HostIp).toBe(b.bridgeAddress);
    const url = `http://${b.bridgeAddress}:${binding?.HostPort}/v1/models`;
    // A client container on daemon A.
    const r = await docker(['run', '--rm', '--label', sessionLabel(session), NODE_IMAGE, 'node', '-e', GET_SCRIPT, url], { timeoutMs: 60_000 });
    expect(r.stdout).toMatch(/^200 /);
    expect(JSON.parse(r.stdout.slice(4)).data[0].id).toBe('Qwen/Qwen3-0.6B');
    await container.remove({ force: true });
  });

  it('containers on a network of B reach each other (B runs without iptables management, A\'s FORWARD policy is DROP)', async () => {
    const client = await connectDocker(b.unix);
    const network = await client.createNetwork({ Name: `inferstack-test-${session}-hosts-net`, Labels: { [TEST_LABEL_KEY]: session } });
    const server = await client.createContainer({
      name: `inferstack-test-${session}-hosts-peer`,
      Image: STANDIN_IMAGE,
      Cmd: ['Qwen/Qwen3-0.6B', '--port', '8000', '--host', '0.0.0.0'],
      Env: ['STANDIN_LOAD_DELAY=0'],
      Labels: { [TEST_LABEL_KEY]: session },
      HostConfig: { NetworkMode: network.id },
      NetworkingConfig: { EndpointsConfig: { [network.id]: { Aliases: ['peer'] } } },
    });
    await server.start();
    const r = await dockerOnB(['run', '--rm', '--label', sessionLabel(session), '--network', network.id, NODE_IMAGE, 'node', '-e', GET_SCRIPT, 'http://peer:8000/health'], {
      allowFail: true,
      timeoutMs: 60_000,
    });
    expect(r.stdout, r.stderr).toMatch(/^200 /);
    await server.remove({ force: true });
    await network.remove();
  });
});

describe('ssh: one SSH connection per endpoint, as the docker CLI', () => {
  /** A relay in front of B's sshd that counts the TCP connections (SSH logins) made through it. */
  async function countingRelay(): Promise<{ port: number; connections: () => number; knownHosts: string }> {
    const target = new URL(b.ssh.host.replace(/^ssh:/, 'http:'));
    let count = 0;
    const port = await listen((socket) => {
      count++;
      const upstream = net.connect(Number(target.port), target.hostname);
      socket.pipe(upstream).pipe(socket);
      socket.on('error', () => upstream.destroy());
      upstream.on('error', () => socket.destroy());
    });
    // The host key, listed for the relay's port.
    const known = readFileSync(b.ssh.ssh.knownHostsPath, 'utf8').replaceAll(`[${target.hostname}]:${target.port}`, `[127.0.0.1]:${port}`);
    const knownHosts = join(tmp, `known_hosts-${port}`);
    writeFileSync(knownHosts, known);
    return { port, connections: () => count, knownHosts };
  }

  it('many requests, in parallel and one after another, share one SSH login', async () => {
    const relay = await countingRelay();
    const client = await connectDocker({ name: 'b', host: `ssh://root@127.0.0.1:${relay.port}`, ssh: { ...b.ssh.ssh, knownHostsPath: relay.knownHosts } });
    for (let round = 0; round < 3; round++) {
      const infos = await Promise.all(Array.from({ length: 8 }, () => client.info()));
      for (const info of infos) expect(info.ID).toBe(b.id);
      await client.listContainers({ all: true, filters: { label: [`${TEST_LABEL_KEY}=${session}`] } });
    }
    expect(relay.connections()).toBe(1);
    // More at once than sshd allows sessions on one connection (MaxSessions, 10): another login.
    const burst = await Promise.all(Array.from({ length: 20 }, () => client.version()));
    expect(burst).toHaveLength(20);
    expect(relay.connections()).toBeGreaterThan(1);
    expect(relay.connections()).toBeLessThanOrEqual(3);
  });

  it('an idle SSH connection does not keep a process alive', async () => {
    const relay = await countingRelay();
    const dist = join(dirname(new URL(import.meta.url).pathname), '..', 'dist', 'index.js');
    const script = `
      const { connectDocker } = await import(${JSON.stringify(dist)});
      const client = await connectDocker({ host: ${JSON.stringify(`ssh://root@127.0.0.1:${relay.port}`)}, ssh: ${JSON.stringify({ ...b.ssh.ssh, knownHostsPath: relay.knownHosts })} });
      const [info] = await Promise.all([client.info(), client.version(), client.listContainers()]);
      console.log(info.ID);`;
    const started = performance.now();
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { timeout: 30_000 });
    const ms = Math.round(performance.now() - started);
    expect(stdout.trim()).toBe(b.id);
    // Done means exited: the free channel and its SSH connection did not hold the event loop.
    console.log(`hosts: a process with three requests over ssh ran and exited in ${ms} ms`);
    expect(relay.connections()).toBe(1);
  });
});

describe('endpoints that cannot work fail fast, say why, and show no secret', () => {
  /** Connect, expect a failure within `withinMs`; returns the error and everything it shows. */
  async function failure(options: ConnectOptions, withinMs: number): Promise<{ error: Error & { hint?: string }; shown: string; ms: number }> {
    const start = performance.now();
    const error = await connectDocker(options).then(
      () => {
        throw new Error(`connected to ${options.host}, expected a failure`);
      },
      (e: Error & { hint?: string }) => e,
    );
    const ms = Math.round(performance.now() - start);
    expect(ms, `${options.host} failed after ${ms} ms`).toBeLessThan(withinMs);
    const shown = [error.message, error.hint ?? '', String(error.cause ?? ''), JSON.stringify(error)].join('\n');
    return { error, shown, ms };
  }

  let keyText = '';
  beforeAll(() => {
    keyText = readFileSync(b.ssh.ssh.privateKeyPath, 'utf8');
  });
  const noSecrets = (shown: string, ...secrets: string[]) => {
    for (const line of keyText.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----'))) expect(shown).not.toContain(line);
    for (const s of secrets) expect(shown).not.toContain(s);
  };

  it('a unix socket that does not exist', async () => {
    const { error } = await failure({ name: 'gone', host: 'unix:///nonexistent/inferstack/docker.sock' }, 2000);
    expect(error).toBeInstanceOf(DaemonUnreachableError);
    expect(error.message).toBe('cannot reach the Docker daemon of host gone at unix:///nonexistent/inferstack/docker.sock (ENOENT)');
  });

  it('tcp and ssh ports nothing listens on', async () => {
    const port = await closedPort();
    const tcp = await failure({ host: `tcp://127.0.0.1:${port}` }, 2000);
    expect(tcp.error.message).toBe(`cannot reach the Docker daemon at tcp://127.0.0.1:${port} (ECONNREFUSED)`);
    const ssh = await failure({ name: 'b', host: `ssh://root@127.0.0.1:${port}`, ssh: { ...b.ssh.ssh, knownHostsPath: false } }, 2000);
    expect(ssh.error).toBeInstanceOf(DaemonUnreachableError);
    expect(ssh.error.message).toBe(`cannot reach the Docker daemon of host b at ssh://root@127.0.0.1:${port} (ECONNREFUSED)`);
    expect(ssh.error.hint).toMatch(/sshd/);
  });

  it('a peer that accepts and never answers: bounded by timeoutMs (tcp and ssh)', async () => {
    const sockets: net.Socket[] = [];
    const port = await listen((socket) => void sockets.push(socket));
    try {
      for (const host of [`tcp://127.0.0.1:${port}`, `ssh://root@127.0.0.1:${port}`]) {
        const ssh = host.startsWith('ssh') ? { ssh: { ...b.ssh.ssh, knownHostsPath: false as const } } : {};
        const { error, ms } = await failure({ host, timeoutMs: 1500, ...ssh }, 3000);
        expect(ms).toBeGreaterThanOrEqual(1400);
        expect(error.message).toBe(`cannot reach the Docker daemon at ${host} (no answer within 1500 ms)`);
        expect(error.hint).toMatch(/in time/);
      }
    } finally {
      for (const s of sockets) s.destroy();
    }
  });

  it('ssh: a key the host does not accept, with and without a passphrase', async () => {
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(tmp, 'stranger')]);
    const plain = await failure({ name: 'b', host: b.ssh.host, ssh: { ...b.ssh.ssh, privateKeyPath: join(tmp, 'stranger'), agent: false } }, 5000);
    expect(plain.error).toBeInstanceOf(DaemonUnreachableError);
    expect(plain.error.message).toMatch(/^cannot reach the Docker daemon of host b at ssh:\/\/root@127\.0\.0\.1:\d+ \(All configured authentication methods failed\)$/);
    expect(plain.error.hint).toMatch(/SSH login as root was refused/);
    noSecrets(plain.shown, readFileSync(join(tmp, 'stranger'), 'utf8').split('\n')[1]!);

    const passphrase = 'correct horse battery staple 4711';
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-f', join(tmp, 'locked')]);
    // Without the passphrase: said before any connection.
    expect(() => createDockerClient({ host: b.ssh.host, ssh: { ...b.ssh.ssh, privateKeyPath: join(tmp, 'locked') } })).toThrow(DockerEndpointError);
    expect(() => createDockerClient({ host: b.ssh.host, ssh: { ...b.ssh.ssh, privateKeyPath: join(tmp, 'locked') } })).toThrow(/is encrypted/);
    const locked = await failure({ host: b.ssh.host, ssh: { ...b.ssh.ssh, privateKeyPath: join(tmp, 'locked'), passphrase, agent: false } }, 5000);
    expect(locked.error.message).toMatch(/authentication methods failed/);
    noSecrets(locked.shown, passphrase);
  });

  it('ssh: a host key other than the one known_hosts lists is refused before logging in', async () => {
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(tmp, 'impostor')]);
    const impostor = readFileSync(join(tmp, 'impostor.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
    const port = new URL(b.ssh.host).port;
    writeFileSync(join(tmp, 'known_hosts'), `[127.0.0.1]:${port} ${impostor}\n`);
    const { error, shown } = await failure({ name: 'b', host: b.ssh.host, ssh: { ...b.ssh.ssh, knownHostsPath: join(tmp, 'known_hosts') } }, 5000);
    expect(error).toBeInstanceOf(DaemonUnreachableError);
    expect(error.hint).toMatch(/host key .* differs/);
    noSecrets(shown);
    // Not listed at all: said before any connection, with the command that adds it.
    writeFileSync(join(tmp, 'known_hosts'), `[127.0.0.1]:1 ${impostor}\n`);
    expect(() => createDockerClient({ host: b.ssh.host, ssh: { ...b.ssh.ssh, knownHostsPath: join(tmp, 'known_hosts') } })).toThrow(
      new RegExp(`lists no usable host key for \\[127\\.0\\.0\\.1\\]:${port}`),
    );
  });

  it('tls: a CA that did not sign the daemon\'s certificate, no TLS at all, a missing key file', async () => {
    await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(tmp, 'other-ca-key.pem'), '-out', join(tmp, 'other-ca.pem'), '-days', '1', '-subj', '/CN=another CA']);
    const keyPem = readFileSync(b.tls.tls.key, 'utf8');
    const wrongCa = await failure({ name: 'b', host: b.tls.host, tls: { ...b.tls.tls, ca: join(tmp, 'other-ca.pem') } }, 5000);
    expect(wrongCa.error).toBeInstanceOf(DaemonUnreachableError);
    expect(wrongCa.error.message).toMatch(/^cannot reach the Docker daemon of host b at tcp:\/\/127\.0\.0\.1:\d+ \((UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)\)$/);
    expect(wrongCa.error.hint).toMatch(/CA file must have signed/);
    for (const line of keyPem.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----'))) expect(wrongCa.shown).not.toContain(line);

    const plain = await failure({ host: b.tls.host }, 5000);
    expect(plain.error.hint).toMatch(/speaks TLS/);

    let error: unknown;
    try {
      createDockerClient({ name: 'b', host: b.tls.host, tls: { ...b.tls.tls, key: join(tmp, 'missing-key.pem') } });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DockerEndpointError);
    expect((error as Error).message).toBe(`Docker endpoint b: cannot read the TLS key ${join(tmp, 'missing-key.pem')} (ENOENT)`);
  });

  it('settings that do not fit the address are refused before any connection', () => {
    expect(() => createDockerClient({ host: b.unix.host, tls: b.tls.tls })).toThrow(/TLS files apply to tcp:\/\/ addresses, not unix:\/\//);
    expect(() => createDockerClient({ host: b.tls.host, ssh: b.ssh.ssh })).toThrow(/ssh options apply to ssh:\/\/ addresses, not tcp:\/\//);
    expect(() => createDockerClient({ host: 'ftp://somewhere' })).toThrow(DockerEndpointError);
  });
});
