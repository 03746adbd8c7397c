// Run a Deployment's pod under Docker the way a kubelet would start it: its image, args and
// environment (values, and Secret keys resolved), its ConfigMap, Secret and projected volumes as
// files, a memory-backed emptyDir as a tmpfs, and the DNS names of the Services that select it as
// network aliases. No Kubernetes node can run here (the API server has no kubelet), so this is how
// the tests see an exported pod work: the gateway routing to the model Services by name.
import { chmod, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { docker, publishedPort, sessionLabel } from '../support/docker.js';
import type { KubeObject } from '../support/kube.js';

/** Kubernetes' expansion of container args and env values: `$$` is `$`, `$(NAME)` a variable defined before. */
export function expand(text: string, vars: ReadonlyMap<string, string>): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch !== '$' || i + 1 >= text.length) {
      out += ch;
      continue;
    }
    const next = text[i + 1]!;
    if (next === '$') {
      out += '$';
      i++;
    } else if (next === '(' && text.indexOf(')', i + 2) > 0) {
      const end = text.indexOf(')', i + 2);
      const name = text.slice(i + 2, end);
      out += vars.get(name) ?? `$(${name})`;
      i = end;
    } else {
      out += ch;
    }
  }
  return out;
}

export interface RunningPod {
  id: string;
  name: string;
  /** Host port of each container port, published on 127.0.0.1. */
  ports: Map<number, number>;
  /** The Service names it answers to on the network. */
  aliases: string[];
}

function configMapData(objects: readonly KubeObject[], name: string): Record<string, string> {
  const map = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === name);
  if (!map) throw new Error(`the pod mounts the ConfigMap ${name}, which the export does not have`);
  return (map as unknown as { data: Record<string, string> }).data;
}

/**
 * Start `deployment`'s first container on `network`. `objects` are the rendered objects (kustomize's
 * output: the generated ConfigMaps with their hashed names), `secret` the Secret's values by key.
 */
export async function runDeployment(
  deployment: KubeObject,
  objects: readonly KubeObject[],
  options: { network: string; secret: Record<string, string>; dirs: string[]; prefix: string },
): Promise<RunningPod> {
  const template = (deployment as any).spec.template;
  const container = template.spec.containers[0];
  const secretValue = (key: string): string => {
    const v = options.secret[key];
    if (v === undefined) throw new Error(`the pod needs the Secret key ${key}`);
    return v;
  };
  const env = new Map<string, string>();
  for (const e of container.env ?? []) {
    env.set(e.name, e.valueFrom ? secretValue(e.valueFrom.secretKeyRef.key) : expand(e.value, env));
  }
  const flags = ['run', '-d', '--label', sessionLabel(), '--name', `${options.prefix}-${deployment.metadata.name}`, '--network', options.network];
  for (const [k, v] of env) flags.push('-e', `${k}=${v}`);

  for (const mount of container.volumeMounts ?? []) {
    const volume = template.spec.volumes.find((v: { name: string }) => v.name === mount.name);
    const files: Record<string, string> = {};
    if (volume.configMap) {
      Object.assign(files, configMapData(objects, volume.configMap.name));
    } else if (volume.projected) {
      for (const source of volume.projected.sources) {
        const data: Record<string, string> = source.configMap
          ? configMapData(objects, source.configMap.name)
          : Object.fromEntries(source.secret.items.map((i: { key: string }) => [i.key, secretValue(i.key)]));
        const items: Array<{ key: string; path: string }> = (source.configMap ?? source.secret).items ?? Object.keys(data).map((k) => ({ key: k, path: k }));
        for (const item of items) files[item.path] = data[item.key]!;
      }
    } else if (volume.emptyDir?.medium === 'Memory') {
      flags.push('--tmpfs', mount.mountPath);
      continue;
    } else {
      continue; // claims and host paths: nothing the test containers need
    }
    const dir = await mkdtemp(join(tmpdir(), 'inferstack-pod-'));
    options.dirs.push(dir);
    await chmod(dir, 0o755);
    for (const [path, text] of Object.entries(files)) {
      await mkdir(dirname(join(dir, path)), { recursive: true, mode: 0o755 });
      await writeFile(join(dir, path), text, { mode: 0o644 });
    }
    flags.push('-v', `${dir}:${mount.mountPath}:ro`);
  }

  const aliases = objects
    .filter((o) => o.kind === 'Service')
    .filter((s) => Object.entries((s as any).spec.selector ?? {}).every(([k, v]) => template.metadata.labels[k] === v))
    .map((s) => s.metadata.name);
  for (const a of aliases) flags.push('--network-alias', a);
  const ports: number[] = (container.ports ?? []).map((p: { containerPort: number }) => p.containerPort);
  for (const p of ports) flags.push('-p', `127.0.0.1::${p}`);
  if (container.command) flags.push('--entrypoint', container.command[0]);
  flags.push(container.image, ...(container.command ?? []).slice(1).map((a: string) => expand(a, env)), ...(container.args ?? []).map((a: string) => expand(a, env)));
  const id = (await docker(flags)).stdout.trim();
  const published = new Map<number, number>();
  for (const p of ports) published.set(p, await publishedPort(id, p));
  return { id, name: `${options.prefix}-${deployment.metadata.name}`, ports: published, aliases };
}
