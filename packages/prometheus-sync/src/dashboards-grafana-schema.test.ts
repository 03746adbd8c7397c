// The shipped dashboards against Grafana's own schema. @grafana/schema (the v13 line, as Grafana
// 13) publishes the dashboard JSON model only as TypeScript types generated from Grafana's CUE
// kinds: no JSON Schema, no runtime validator. So each dashboard's JSON is type-checked, with
// the TypeScript compiler, as a literal that must satisfy those types: the Dashboard type for
// the whole (required fields, value types, enum values, no unknown keys), and per panel type the
// panel plugin's own Options and field-config types (timeseries, stat, table).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { beforeAll, describe, expect, test } from 'vitest';
import { loadDashboards } from './dashboards.js';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
/** Virtual sources live in the package, so that `@grafana/schema` resolves from its node_modules. */
const virtualDir = join(packageDir, 'src', '__grafana-schema-check__');

const PRELUDE = `
import type { DataQuery, Dashboard, FieldConfig, FieldConfigSource, Panel, RowPanel, VariableModel } from '@grafana/schema';
import type * as timeseries from '@grafana/schema/dist/esm/raw/composable/timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen';
import type * as stat from '@grafana/schema/dist/esm/raw/composable/stat/panelcfg/x/StatPanelCfg_types.gen';
import type * as table from '@grafana/schema/dist/esm/raw/composable/table/panelcfg/x/TablePanelCfg_types.gen';

/** How a schema type is spelled in JSON: a string enum by its values; everything else as is. */
type Json<T> = T extends string ? \`\${T}\`
  : T extends number | boolean | null | undefined ? T
  : T extends readonly (infer U)[] ? Json<U>[]
  : T extends object ? { [K in keyof T]: Json<T[K]> }
  : T;

/** A panel of one plugin: Grafana's panel model with that plugin's options and custom field config. */
type PluginPanel<Type extends string, Options, Custom> = Omit<Panel, 'type' | 'options' | 'fieldConfig' | 'targets'> & {
  type: Type;
  options?: Options;
  fieldConfig?: Omit<FieldConfigSource, 'defaults'> & { defaults: Omit<FieldConfig, 'custom'> & { custom?: Custom } };
  /** The common query fields; the Prometheus plugin's own (expr, legendFormat, ...) are not in @grafana/schema 13. */
  targets?: Array<DataQuery & Record<string, unknown>>;
};

/**
 * A template variable. Grafana writes a query variable's query text also as "definition" (its
 * v2 dashboard schema has the field; this classic model's type does not).
 */
type Variable = VariableModel & { definition?: string };

type ShippedDashboard = Json<
  Omit<Dashboard, 'panels' | 'templating'> & {
    templating?: { list?: Variable[] };
    panels?: Array<
      | RowPanel
      | PluginPanel<'timeseries', timeseries.Options, timeseries.FieldConfig>
      | PluginPanel<'stat', stat.Options, never>
      | PluginPanel<'table', table.Options, table.FieldConfig>
    >;
  }
>;
`;

const source = (json: string): string => `${PRELUDE}\nexport const dashboard = (${json}) satisfies ShippedDashboard;\n`;

/** Type-checks virtual files (name → source) in one program; returns each file's diagnostics as text. */
function typecheck(files: Record<string, string>): Record<string, string[]> {
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    skipLibCheck: true,
    types: [],
  };
  const paths = new Map(Object.entries(files).map(([name, text]) => [join(virtualDir, `${name}.ts`), text]));
  const host = ts.createCompilerHost(options, true);
  const { getSourceFile, fileExists, readFile: read } = host;
  host.getSourceFile = (fileName, languageVersion, ...rest) => {
    const text = paths.get(fileName);
    return text === undefined ? getSourceFile.call(host, fileName, languageVersion, ...rest) : ts.createSourceFile(fileName, text, languageVersion, true);
  };
  host.fileExists = (fileName) => paths.has(fileName) || fileExists.call(host, fileName);
  host.readFile = (fileName) => paths.get(fileName) ?? read.call(host, fileName);
  const program = ts.createProgram([...paths.keys()], options, host);
  const out: Record<string, string[]> = {};
  for (const [path] of paths) {
    const file = program.getSourceFile(path);
    if (!file) throw new Error(`no source file ${path}`);
    const name = Object.keys(files).find((n) => join(virtualDir, `${n}.ts`) === path) ?? path;
    out[name] = [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)].map((d) => {
      const where = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : undefined;
      return `${where ? `line ${where.line + 1}: ` : ''}${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
  }
  return out;
}

const dashboards = await loadDashboards();
let results: Record<string, string[]> = {};
let broken: Record<string, string> = {};

beforeAll(async () => {
  const files: Record<string, string> = {};
  for (const { file, path } of dashboards) files[file] = source(await readFile(path, 'utf8'));
  // Negative controls: one mistake each, on the real vLLM dashboard, must each be caught.
  const base = JSON.parse(await readFile(join(packageDir, 'dashboards', 'vllm.json'), 'utf8')) as Record<string, unknown> & {
    panels: Array<Record<string, unknown> & { options?: Record<string, unknown>; fieldConfig?: { defaults: Record<string, unknown> } }>;
    templating: { list: Array<Record<string, unknown>> };
  };
  const mutate = (change: (d: typeof base) => void): string => {
    const copy = structuredClone(base);
    change(copy);
    return source(JSON.stringify(copy, null, 2));
  };
  const firstOf = (d: typeof base, type: string) => {
    const panel = d.panels.find((p) => p.type === type);
    if (!panel) throw new Error(`no ${type} panel`);
    return panel;
  };
  broken = {
    'unknown-top-level-key': mutate((d) => {
      d.panelz = [];
    }),
    'graphTooltip-out-of-range': mutate((d) => {
      d.graphTooltip = 7;
    }),
    'schemaVersion-missing': mutate((d) => {
      delete d.schemaVersion;
    }),
    'variable-type-unknown': mutate((d) => {
      if (d.templating.list[0]) d.templating.list[0].type = 'dropdown';
    }),
    'variable-unknown-key': mutate((d) => {
      if (d.templating.list[1]) d.templating.list[1].definitionz = 'x';
    }),
    'timeseries-legend-placement': mutate((d) => {
      const options = firstOf(d, 'timeseries').options as { legend: Record<string, unknown> };
      options.legend.placement = 'top';
    }),
    'timeseries-custom-draw-style': mutate((d) => {
      const custom = firstOf(d, 'timeseries').fieldConfig?.defaults.custom as Record<string, unknown>;
      custom.drawStyle = 'dots';
    }),
    'table-options-unknown-key': mutate((d) => {
      const options = firstOf(d, 'table').options as Record<string, unknown>;
      options.pagination = true;
    }),
    'gridPos-not-a-number': mutate((d) => {
      (firstOf(d, 'timeseries').gridPos as Record<string, unknown>).w = '12';
    }),
  };
  results = typecheck({ ...files, ...broken });
}, 120_000);

describe('dashboards against @grafana/schema (Grafana 13)', () => {
  test.each(dashboards.map((d) => d.file))('%s satisfies the Dashboard type and its panel plugins\' types', (file) => {
    expect(results[file]).toEqual([]);
  });

  test('the check catches mistakes: each broken copy of vllm.json fails with exactly its one error', () => {
    const expected: Record<string, RegExp> = {
      'unknown-top-level-key': /'"panelz"' does not exist/,
      'graphTooltip-out-of-range': /'7' is not assignable to type 'DashboardCursorSync/,
      'schemaVersion-missing': /Property 'schemaVersion' is missing/,
      'variable-type-unknown': /'"dropdown"' is not assignable to type 'VariableType'/,
      'variable-unknown-key': /'"definitionz"' does not exist/,
      'timeseries-legend-placement': /'"top"' is not assignable to type 'LegendPlacement'/,
      'timeseries-custom-draw-style': /'"dots"' is not assignable/,
      'table-options-unknown-key': /'"pagination"' does not exist/,
      'gridPos-not-a-number': /Type 'string' is not assignable to type 'number'/,
    };
    expect(Object.keys(broken).sort()).toEqual(Object.keys(expected).sort());
    for (const [name, pattern] of Object.entries(expected)) {
      expect(results[name], name).toHaveLength(1);
      expect(results[name]?.[0], name).toMatch(pattern);
    }
  });
});
