// validateKubernetesObject offline: what the exporter writes must pass, and the mistakes an
// exporter makes (misspelt fields, wrong types, missing fields, bad patterns) must not.
import { describe, expect, it } from 'vitest';
import { VALIDATED_KINDS, validateKubernetesObject } from '../support/kube.js';
import { BAD, deployment, edited, GOOD, secret, serviceMonitor } from './_objects.js';

describe('validateKubernetesObject', () => {
  it.each(Object.entries(GOOD))('accepts a good %s', (_, make) => {
    expect(validateKubernetesObject(make())).toEqual([]);
  });

  it.each(BAD)('rejects $name, naming $path', ({ object, path }) => {
    const problems = validateKubernetesObject(object());
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.some((p) => p.startsWith(path))).toBe(true);
  });

  it('says which field is unknown, and reports every problem at once', () => {
    const o = edited(deployment, (d) => {
      d.spec.template.spec.containers[0].imagee = 'x';
      d.spec.template.spec.containers[0].resources.limit = { cpu: '1' };
      d.spec.replicas = 'two';
    });
    expect(validateKubernetesObject(o).sort()).toEqual([
      'spec.replicas: must be integer',
      'spec.template.spec.containers[0].imagee: unknown field',
      'spec.template.spec.containers[0].resources.limit: unknown field',
    ]);
  });

  it('checks keys with dots and slashes and values in maps (labels, resource limits)', () => {
    expect(validateKubernetesObject(edited(deployment, (d) => (d.metadata.labels['app.kubernetes.io/name'] = 7)))).toEqual([
      'metadata.labels["app.kubernetes.io/name"]: must be string',
    ]);
    expect(validateKubernetesObject(edited(deployment, (d) => (d.spec.template.spec.containers[0].resources.limits['nvidia.com/gpu'] = true)))).not.toEqual([]);
  });

  it('knows Secret fields (data is base64, stringData is text)', () => {
    expect(validateKubernetesObject(edited(secret, (s) => (s.data = { KEY: 'c2VjcmV0' })))).toEqual([]);
    expect(validateKubernetesObject(edited(secret, (s) => (s.strngData = { KEY: 'x' })))).toEqual(['strngData: unknown field']);
  });

  it('checks the ServiceMonitor against the Prometheus Operator schema and the CRD field list', () => {
    expect(validateKubernetesObject(edited(serviceMonitor, (m) => delete m.spec.selector))).toEqual(['spec: must have required property selector']);
    expect(validateKubernetesObject(edited(serviceMonitor, (m) => (m.spec.endpoints[0].scheme = 'ftp')))).toEqual([
      'spec.endpoints[0].scheme: must be equal to one of the allowed values',
    ]);
    expect(validateKubernetesObject(edited(serviceMonitor, (m) => (m.metadata.annotation = {})))).toEqual(['metadata.annotation: unknown field']);
  });

  it('refuses what it has no schema for, and objects without apiVersion or kind', () => {
    expect(validateKubernetesObject({ apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'x' } })[0]).toMatch(/no schema for apps\/v1 DaemonSet/);
    expect(validateKubernetesObject({ kind: 'ConfigMap', metadata: { name: 'x' } })).toEqual(['(root): apiVersion and kind must be strings']);
    expect(validateKubernetesObject([])).toEqual(['(root): must be an object']);
    expect(VALIDATED_KINDS).toContain('monitoring.coreos.com/v1 ServiceMonitor');
  });
});
