// `serve plan` shows the infrastructure as `up` would treat it, against the real daemon, the real
// LiteLLM gateway and Prometheus: everything "create" before the first up (and nothing made or
// written by the plan), "keep" after it, and after a change of a service setting the service
// that `up` then recreates or reloads; `--exit-code` exits 3 exactly when something would change.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, NODE_IMAGE } from '../../../test/support/docker-cli.js';
import { sessionLabel } from '../../../test/support/docker.js';
import { createStackProject, freePort, type StackProject } from '../../../test/support/stack-project.js';
import { CLI } from './_harness.js';

interface PlannedService {
  service: string;
  container: string;
  action: string;
  changed?: string[];
  files?: string[];
}

describe('serve plan and the infrastructure services', () => {
  let p: StackProject;

  /** `serve ...` in the project, as the stack named after its prefix (so cleanup finds all it makes). */
  function serve(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [CLI, ...args, '-c', p.file, '-p', p.prefix], { cwd: p.dir, env: p.env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
  }

  async function planJson(): Promise<{ code: number; changes: boolean; services: PlannedService[] }> {
    const r = await serve(['plan', '--json', '--exit-code']);
    expect(r.stderr).toBe('');
    return { code: r.code, ...JSON.parse(r.stdout) };
  }

  /** The stack's containers on the daemon, by name. */
  async function containers(): Promise<Map<string, string>> {
    const { stdout } = await docker(['ps', '-a', '--filter', `label=inferstack.stack=${p.prefix}`, '--format', '{{.Names}} {{.ID}}']);
    return new Map(stdout.split('\n').filter(Boolean).map((l) => l.split(' ') as [string, string]));
  }

  const names = () => ({ gateway: `${p.prefix}-litellm`, prometheus: `${p.prefix}-prometheus`, nodeExporter: `${p.prefix}-node-exporter` });
  const promYml = () => join(p.dir, '.inferstack', 'prometheus', 'prometheus.yml');
  const gatewayConfig = () => join(p.dir, 'litellm', 'config.yaml');

  beforeAll(async () => {
    p = await createStackProject('plan-services');
    p.write(['a']);
  });
  afterAll(() => p.cleanup());

  it('before the first up: every service is "create", and the plan made no container, lock or file', async () => {
    const plan = await planJson();
    expect(plan.code).toBe(3);
    expect(plan.changes).toBe(true);
    const n = names();
    expect(plan.services.map((s) => [s.service, s.container, s.action])).toEqual([
      ['gateway', n.gateway, 'create'],
      ['node-exporter', n.nodeExporter, 'create'],
      ['prometheus', n.prometheus, 'create'],
    ]);
    // The files up would write are named, and not written.
    expect(plan.services.find((s) => s.service === 'gateway')!.files).toEqual([gatewayConfig(), join(p.dir, 'litellm', 'inferstack_gateway.py')]);
    expect(plan.services.find((s) => s.service === 'prometheus')!.files).toEqual([join(p.dir, '.inferstack', 'prometheus', 'litellm-key'), promYml()]);
    expect(existsSync(gatewayConfig())).toBe(false);
    expect(existsSync(join(p.dir, '.inferstack'))).toBe(false);
    expect(existsSync(join(p.dir, 'litellm'))).toBe(false);
    // No container of the stack (no service, no lock, no identity).
    expect([...(await containers()).keys()]).toEqual([]);

    const text = await serve(['plan']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^\\+\\s+gateway\\s+${n.gateway}\\s+create\\s+not running → create$`, 'm'));
    expect(text.stdout).toMatch(new RegExp(`^\\+\\s+prometheus\\s+${n.prometheus}\\s+create\\s+not running → create$`, 'm'));
    expect(text.stdout).toMatch(/^3 create$/m);
  });

  describe('after up', () => {
    let upBefore: Map<string, string>;

    beforeAll(async () => {
      const up = await serve(['up']);
      expect(up.code, up.stderr).toBe(0);
      upBefore = await containers();
    });

    it('every service is "keep" and --exit-code exits 0', async () => {
      const plan = await planJson();
      expect(plan.services.map((s) => [s.service, s.action, s.files])).toEqual([
        ['gateway', 'keep', undefined],
        ['node-exporter', 'keep', undefined],
        ['prometheus', 'keep', undefined],
      ]);
      expect(plan.changes).toBe(false);
      expect(plan.code).toBe(0);
      const text = await serve(['plan']);
      expect(text.stdout).toMatch(new RegExp(`^=\\s+gateway\\s+${names().gateway}\\s+keep\\s+running, unchanged$`, 'm'));
      expect(text.stdout).toMatch(/^3 keep$/m);
    });

    it('a changed gateway port or exporter image is a recreate naming the field, and --exit-code exits 3 only then', async () => {
      const config = readFileSync(p.file, 'utf8');
      const port = await freePort();
      writeFileSync(p.file, config.replace(`port: ${p.gatewayPort}`, `port: ${port}`));
      const plan = await planJson();
      expect(plan.code).toBe(3);
      expect(plan.services.map((s) => [s.service, s.action, s.changed])).toEqual([
        ['gateway', 'recreate', ['ports']],
        ['node-exporter', 'keep', undefined],
        ['prometheus', 'keep', undefined],
      ]);
      const text = await serve(['plan', '--exit-code']);
      expect(text.code).toBe(3);
      expect(text.stdout).toMatch(new RegExp(`^↻\\s+gateway\\s+${names().gateway}\\s+recreate\\s+changed: ports → recreate$`, 'm'));

      writeFileSync(p.file, config.replace(/node-exporter: \{image: (\S+),/, 'node-exporter: {image: $1-other,'));
      const image = await planJson();
      expect(image.code).toBe(3);
      expect(image.services.filter((s) => s.action !== 'keep')).toEqual([{ service: 'node-exporter', container: names().nodeExporter, action: 'recreate', changed: ['image'] }]);

      // Back as it was: nothing to do again. Planning changed nothing meanwhile.
      writeFileSync(p.file, config);
      expect((await planJson()).code).toBe(0);
      expect(await containers()).toEqual(upBefore);
    });

    it('a changed file Prometheus mounts is a reload, written by up only, which then reloads it as planned', async () => {
      const env = join(p.dir, '.env');
      writeFileSync(env, readFileSync(env, 'utf8').replace('PROMETHEUS_SCRAPE_INTERVAL=1s', 'PROMETHEUS_SCRAPE_INTERVAL=2s'));
      const promBefore = readFileSync(promYml(), 'utf8');
      const plan = await planJson();
      expect(plan.code).toBe(3);
      expect(plan.services.map((s) => [s.service, s.action, s.files])).toEqual([
        ['gateway', 'keep', undefined],
        ['node-exporter', 'keep', undefined],
        ['prometheus', 'reload', [promYml()]],
      ]);
      const text = await serve(['plan']);
      expect(text.stdout).toMatch(/^↺\s+prometheus\s+\S+\s+reload\s+running, unchanged; \.inferstack\/prometheus\/prometheus\.yml changed → reload \(no restart\)$/m);
      expect(readFileSync(promYml(), 'utf8')).toBe(promBefore);

      const up = await serve(['up']);
      expect(up.code, up.stderr).toBe(0);
      expect(up.stderr).toMatch(/✔ prometheus\s+kept \(config reloaded\)/);
      expect(up.stderr).toMatch(new RegExp(`✔ gateway\\s+${names().gateway} kept`));
      expect(readFileSync(promYml(), 'utf8')).toContain('scrape_interval: 2s');
      expect(await containers()).toEqual(upBefore);
      expect((await planJson()).code).toBe(0);
    });

    it("a container of a service's name that is not the stack's is a conflict; a service no longer configured is a warning", async () => {
      const config = readFileSync(p.file, 'utf8');
      const grafana = `${p.prefix}-grafana`;
      await docker(['run', '-d', '--name', grafana, '--label', sessionLabel(), NODE_IMAGE, 'node', '-e', 'setInterval(() => {}, 1 << 30)']);
      writeFileSync(
        p.file,
        config
          .replace('  grafana: {enabled: false}', `  grafana: {container-name: ${grafana}, port: ${await freePort()}}`)
          .replace(/node-exporter: \{image: (\S+), container-name: (\S+)\}/, 'node-exporter: {image: $1, container-name: $2, enabled: false}'),
      );
      const r = await serve(['plan', '--json', '--exit-code']);
      expect(r.code).toBe(3);
      const plan = JSON.parse(r.stdout) as { services: PlannedService[]; warnings: string[] };
      expect(plan.services.map((s) => [s.service, s.action])).toEqual([
        ['gateway', 'keep'],
        ['prometheus', 'reload'],
        ['grafana', 'conflict'],
      ]);
      expect(plan.services.find((s) => s.service === 'grafana')).not.toHaveProperty('owner');
      expect(plan.warnings).toContain(`${names().nodeExporter} (node-exporter) is no longer configured; neither up nor down --all removes it ("docker rm -f ${names().nodeExporter}" does)`);
      const text = await serve(['plan']);
      expect(text.stdout).toMatch(new RegExp(`^!\\s+grafana\\s+${grafana}\\s+conflict\\s+a container of that name was not made by serve → left alone; up fails for this service$`, 'm'));
      expect(text.stderr).toContain(`! ${names().nodeExporter} (node-exporter) is no longer configured`);
      writeFileSync(p.file, config);
    });
  });
});
