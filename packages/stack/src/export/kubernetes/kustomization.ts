import { Document } from 'yaml';
import { commonLabels, ref } from './labels.js';
import { objectsYaml, type KubeObject } from './objects.js';
import type { KubernetesFile, RenderContext } from './types.js';

/*
 * What the export writes: the objects' files, the files ConfigMaps are generated from (files/),
 * and the kustomization.yaml that lists both.
 */

/** The files of an export as its parts add them. */
export class ExportFiles {
  readonly files: KubernetesFile[] = [];
  readonly generators: Generator[] = [];

  /** A file of objects, with a comment on top. */
  objects(path: string, objects: KubeObject[], comment?: string): void {
    this.files.push({ path, text: objectsYaml(objects, comment), mode: 0o644, objects: objects.map(ref) });
  }

  /** A file under files/ the ConfigMap `configMap` is generated from. */
  configMapFile(path: string, text: string, configMap: string): void {
    this.files.push({ path, text, mode: 0o644, objects: [{ kind: 'ConfigMap', name: configMap }] });
  }
}

export interface Generator {
  name: string;
  files: string[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** No content hash in the name (dashboards: found by label, reloaded in place). */
  stableName?: boolean;
}

export function generatorEntry(c: RenderContext, g: Generator): Record<string, unknown> {
  return {
    name: g.name,
    files: g.files,
    options: {
      labels: { ...commonLabels(c), ...g.labels },
      ...(g.annotations ? { annotations: g.annotations } : {}),
      ...(g.stableName ? { disableNameSuffixHash: true } : {}),
    },
  };
}

export function kustomizationFile(path: string, body: Record<string, unknown>, comment: string): KubernetesFile {
  const doc = new Document({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', ...body });
  doc.commentBefore = comment;
  return { path, text: doc.toString({ lineWidth: 0 }), mode: 0o644, objects: [] };
}
