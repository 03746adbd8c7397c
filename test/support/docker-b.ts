// "Host b" for multi-host tests: the second real Docker daemon that scripts/ensure-docker-b.sh
// starts on this machine, and the ways to reach it (unix socket, tcp with mutual TLS, ssh). The
// endpoints come from the endpoints.json the script writes; a test that needs host b fails
// loudly, with the command to run, when it is not there (never skips).
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { docker, type DockerResult, NODE_IMAGE, STANDIN_IMAGE, TEST_LABEL_KEY } from './docker-cli.js';

/** What scripts/ensure-docker-b.sh writes to endpoints.json. */
interface EndpointsFile {
  bridgeAddress: string;
  unix: string;
  tls: { host: string; ca: string; cert: string; key: string };
  ssh: { b: string; a: string; privateKey: string; knownHosts: string };
}

/** An endpoint in the shape docker-ops' `createDockerClient`/`connectDocker` take. */
export interface TestEndpoint {
  name: string;
  host: string;
  tls?: { ca: string; cert: string; key: string };
  ssh?: { privateKeyPath: string; knownHostsPath: string };
}

export interface DockerB {
  /** B's daemon ID (`docker info`), to tell B from A through any transport. */
  id: string;
  /** A's daemon ID. */
  idA: string;
  /** B's server version, e.g. 20.10.24. */
  version: string;
  /** The address B's containers publish on and other hosts reach them at (the dockerb bridge). */
  bridgeAddress: string;
  /** B over its unix socket. */
  unix: TestEndpoint;
  /** B over tcp on 127.0.0.1 with mutual TLS. */
  tls: TestEndpoint & { tls: NonNullable<TestEndpoint['tls']> };
  /** B over ssh (the remote login runs `docker system dial-stdio` against B's socket). */
  ssh: TestEndpoint & { ssh: NonNullable<TestEndpoint['ssh']> };
  /** A over ssh (the same sshd, another port: the default socket). */
  sshA: TestEndpoint & { ssh: NonNullable<TestEndpoint['ssh']> };
  /** The state directory (keys, certificates, logs). */
  stateDir: string;
}

/** Where scripts/ensure-docker-b.sh keeps its state (the same defaults as the script). */
export function dockerBStateDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.INFERSTACK_DOCKER_B_DIR || join(env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache'), 'inferstack', 'docker-b');
}

const START_HINT = "Start it (as root): 'bash scripts/ensure-docker-b.sh' (the set-up of `pnpm test`, scripts/ensure-test-env.sh, does this after the main daemon is up).";

let cached: Promise<DockerB> | undefined;

/**
 * Host b's endpoints, after checking that B answers on its socket and has the stand-in and node images.
 * @throws with what is missing and the command that fixes it
 */
export function dockerB(): Promise<DockerB> {
  cached ??= load().catch((error: unknown) => {
    cached = undefined;
    throw error;
  });
  return cached;
}

async function load(): Promise<DockerB> {
  const stateDir = dockerBStateDir();
  const file = join(stateDir, 'endpoints.json');
  if (!existsSync(file)) throw new Error(`Host b (the second Docker daemon) is not set up: no ${file}. ${START_HINT}`);
  const e = JSON.parse(readFileSync(file, 'utf8')) as EndpointsFile;
  const info = await docker(['-H', e.unix, 'info', '--format', '{{.ID}} {{.ServerVersion}}'], { allowFail: true, timeoutMs: 20_000 });
  if (info.code !== 0) {
    throw new Error(`Host b does not answer on ${e.unix} (${info.stderr.trim() || `docker info exited ${info.code}`}). ${START_HINT}`);
  }
  const [id = '', version = ''] = info.stdout.trim().split(' ');
  for (const name of [STANDIN_IMAGE, NODE_IMAGE]) {
    const image = await docker(['-H', e.unix, 'image', 'inspect', '--format', '{{.Id}}', name], { allowFail: true });
    if (image.code !== 0) throw new Error(`Host b has no ${name}: build it on A (bash images/build.sh), then run 'bash scripts/ensure-docker-b.sh' again.`);
  }
  const idA = (await docker(['info', '--format', '{{.ID}}'])).stdout.trim();
  const ssh = { privateKeyPath: e.ssh.privateKey, knownHostsPath: e.ssh.knownHosts };
  return {
    id,
    idA,
    version,
    bridgeAddress: e.bridgeAddress,
    unix: { name: 'b-unix', host: e.unix },
    tls: { name: 'b-tls', host: e.tls.host, tls: { ca: e.tls.ca, cert: e.tls.cert, key: e.tls.key } },
    ssh: { name: 'b-ssh', host: e.ssh.b, ssh },
    sshA: { name: 'a-ssh', host: e.ssh.a, ssh },
    stateDir,
  };
}

/** `docker -H <B's socket> <args>`: the docker CLI against host b. */
export async function dockerOnB(args: string[], options: { allowFail?: boolean; timeoutMs?: number } = {}): Promise<DockerResult> {
  const b = await dockerB();
  return docker(['-H', b.unix.host, ...args], options);
}

/** Remove every container, network and volume on host b labelled with the session. */
export async function removeSessionResourcesOnB(session: string): Promise<void> {
  const filter = ['--filter', `label=${TEST_LABEL_KEY}=${session}`];
  const ids = async (args: string[]) => (await dockerOnB([...args, ...filter])).stdout.split('\n').filter(Boolean);
  const containers = await ids(['ps', '-aq']);
  if (containers.length) await dockerOnB(['rm', '-f', '-v', ...containers], { allowFail: true });
  const networks = await ids(['network', 'ls', '-q']);
  if (networks.length) await dockerOnB(['network', 'rm', ...networks], { allowFail: true });
  const volumes = await ids(['volume', 'ls', '-q']);
  if (volumes.length) await dockerOnB(['volume', 'rm', '-f', ...volumes], { allowFail: true });
}
