// A throwaway project (model_config/models.yaml + .env) for tests that drive a whole stack through
// the library or an example script: unique container names and network, the session label on
// everything, free ports, and a cleanup that removes what the project made.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { docker, STANDIN_IMAGE } from './docker-cli.js';
import { sessionLabel } from './docker.js';
import { PROMETHEUS_IMAGE } from './prometheus-image.js';

/** The local images of the real gateway and monitoring (built by images/build.sh). */
export const LITELLM_IMAGE = 'inferstack-test/litellm:1.108.14';
export { PROMETHEUS_IMAGE };
export const NODE_EXPORTER_IMAGE = 'inferstack-test/node-exporter:1.5';
export { STANDIN_IMAGE };

/** A TCP port free on 127.0.0.1 now. */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface StackProject {
  dir: string;
  /** Path of its models.yaml. */
  file: string;
  /** Unique prefix for model keys and container names (names are global on a daemon). */
  prefix: string;
  network: string;
  gatewayPort: number;
  prometheusPort: number;
  masterKey: string;
  /** Environment for `openStack` / a script: the session label, a fixed hash key. */
  env: NodeJS.ProcessEnv;
  /** A models.yaml with the real LiteLLM and Prometheus (managed) and these stand-in models. */
  write(models: string[], options?: { gateway?: boolean; monitoring?: boolean }): void;
  cleanup(): Promise<void>;
}

export async function createStackProject(name: string): Promise<StackProject> {
  const dir = mkdtempSync(join(tmpdir(), `inferstack-${name}-`));
  const prefix = `s${randomBytes(3).toString('hex')}`;
  const network = `inferstack-test-${prefix}`;
  const masterKey = `sk-${randomBytes(24).toString('hex')}`;
  const [gatewayPort, prometheusPort] = [await freePort(), await freePort()];
  mkdirSync(join(dir, 'model_config'), { recursive: true });
  mkdirSync(join(dir, 'hf-cache'), { recursive: true });
  writeFileSync(join(dir, '.env'), `HUGGINGFACE_CACHE=${join(dir, 'hf-cache')}\nLITELLM_MASTER_KEY=${masterKey}\nPROMETHEUS_SCRAPE_INTERVAL=1s\n`, { mode: 0o600 });
  const file = join(dir, 'model_config', 'models.yaml');
  return {
    dir,
    file,
    prefix,
    network,
    gatewayPort,
    prometheusPort,
    masterKey,
    env: { ...process.env, INFERSTACK_LABELS: sessionLabel(), INFERSTACK_HASH_KEY: 'test-hash-key', NO_COLOR: '1' },
    write(models, options = {}) {
      const lines = [
        `network: ${network}`,
        options.gateway === false ? 'gateway: {mode: none}' : `gateway: {image: ${LITELLM_IMAGE}, container-name: ${prefix}-litellm, port: ${gatewayPort}}`,
        ...(options.monitoring === false
          ? ['monitoring: {mode: none}']
          : [
              'monitoring:',
              `  prometheus: {image: ${PROMETHEUS_IMAGE}, container-name: ${prefix}-prometheus, port: ${prometheusPort}}`,
              `  node-exporter: {image: ${NODE_EXPORTER_IMAGE}, container-name: ${prefix}-node-exporter}`,
              '  grafana: {enabled: false}',
            ]),
        'defaults:',
        `  image: ${STANDIN_IMAGE}`,
        '  pull: never',
        '  env: {STANDIN_LOAD_DELAY: "1"}',
        'models:',
        ...models.map((m) => `  - ${prefix}-${m}: {model: demo/${m}, gpus: none}`),
      ];
      writeFileSync(file, `${lines.join('\n')}\n`);
    },
    async cleanup() {
      const { stdout } = await docker(['ps', '-aq', '--filter', `label=${sessionLabel()}`, '--filter', `name=${prefix}`], { allowFail: true });
      const ids = stdout.split('\n').filter(Boolean);
      if (ids.length > 0) await docker(['rm', '-f', '-v', ...ids], { allowFail: true });
      await docker(['network', 'rm', network], { allowFail: true });
      const vols = (await docker(['volume', 'ls', '-q', '--filter', `name=${prefix}`], { allowFail: true })).stdout.split('\n').filter(Boolean);
      if (vols.length > 0) await docker(['volume', 'rm', ...vols], { allowFail: true });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
