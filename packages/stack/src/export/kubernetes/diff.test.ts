import { describe, expect, it } from 'vitest';
import { diffKubernetesFiles, hasKubernetesChanges } from './diff.js';
import type { KubernetesFile } from './types.js';

const deployment = (name: string, image: string) => `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${name}\nspec:\n  image: ${image}\n`;
const service = (name: string) => `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\n`;
const file = (path: string, text: string, objects: KubernetesFile['objects'] = []): KubernetesFile => ({ path, text, mode: 0o644, objects });

describe('diffKubernetesFiles', () => {
  it('says per file and per object what is added, changed, removed or kept', () => {
    const previous = new Map([
      ['kustomization.yaml', 'resources: [a]\n'],
      ['models/a.yaml', `${deployment('a', 'v1')}---\n${service('a')}`],
      ['models/gone.yaml', `${deployment('gone', 'v1')}---\n${service('gone')}`],
      ['files/litellm/config.yaml', 'model_list: []\n'],
      ['namespace.yaml', 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns\n'],
    ]);
    const next = [
      file('kustomization.yaml', 'resources: [a, b]\n'),
      file('models/a.yaml', `${deployment('a', 'v2')}---\n${service('a')}---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: a-hf-cache\n`, [
        { kind: 'Deployment', name: 'a' },
        { kind: 'Service', name: 'a' },
        { kind: 'PersistentVolumeClaim', name: 'a-hf-cache' },
      ]),
      file('models/b.yaml', deployment('b', 'v1'), [{ kind: 'Deployment', name: 'b' }]),
      file('files/litellm/config.yaml', 'model_list: [x]\n', [{ kind: 'ConfigMap', name: 'litellm-config' }]),
      file('namespace.yaml', 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns\n', [{ kind: 'Namespace', name: 'ns' }]),
    ];
    const changes = diffKubernetesFiles(previous, next);
    expect(changes).toEqual([
      { path: 'files/litellm/config.yaml', action: 'change', objects: [{ kind: 'ConfigMap', name: 'litellm-config', action: 'change' }] },
      { path: 'kustomization.yaml', action: 'change', objects: [] },
      {
        path: 'models/a.yaml',
        action: 'change',
        objects: [
          { kind: 'Deployment', name: 'a', action: 'change' },
          { kind: 'PersistentVolumeClaim', name: 'a-hf-cache', action: 'add' },
        ],
      },
      { path: 'models/b.yaml', action: 'add', objects: [{ kind: 'Deployment', name: 'b', action: 'add' }] },
      {
        path: 'models/gone.yaml',
        action: 'remove',
        objects: [
          { kind: 'Deployment', name: 'gone', action: 'remove' },
          { kind: 'Service', name: 'gone', action: 'remove' },
        ],
      },
      { path: 'namespace.yaml', action: 'keep', objects: [] },
    ]);
    expect(hasKubernetesChanges(changes)).toBe(true);
    expect(hasKubernetesChanges(diffKubernetesFiles(new Map([['namespace.yaml', 'x']]), [file('namespace.yaml', 'x')]))).toBe(false);
  });

  it('a reformatted file with the same objects changes nothing per object; an unreadable one changes as a whole', () => {
    const next = [file('models/a.yaml', deployment('a', 'v1'), [{ kind: 'Deployment', name: 'a' }])];
    expect(diffKubernetesFiles(new Map([['models/a.yaml', `# a comment\n${deployment('a', 'v1')}`]]), next)[0]).toEqual({ path: 'models/a.yaml', action: 'change', objects: [] });
    expect(diffKubernetesFiles(new Map([['models/a.yaml', ': not yaml : [']]), next)[0]!.objects).toEqual([{ kind: 'Deployment', name: 'a', action: 'change' }]);
  });
});
