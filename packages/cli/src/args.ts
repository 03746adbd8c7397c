import { defineCittyPlugin, type ArgsDef, type CommandContext } from 'citty';
import { CliError } from './errors.js';

/** Flags every command that reads the config takes. */
export const configArgs = {
  'model-config': {
    type: 'string',
    alias: 'c',
    description: 'Path of models.yaml',
    default: 'model_config/models.yaml',
    valueHint: 'PATH',
  },
  project: {
    type: 'string',
    alias: 'p',
    description: "The stack's name (default: name: in models.yaml, else the project directory's name)",
    valueHint: 'NAME',
  },
  debug: { type: 'boolean', description: 'Print debug information (never secrets)' },
} as const;

/** `--drain-timeout`: how long a model gets to finish its requests before it stops. */
export const drainArg = {
  'drain-timeout': { type: 'string', description: 'Seconds a model gets to finish the requests in flight (after it is unrouted) before it stops (default 60)', valueHint: 'SECONDS' },
} as const;

/** `--json`. */
export const jsonArg = { json: { type: 'boolean', description: 'Print the result as JSON' } } as const;

function camel(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/**
 * citty parses leniently (an unknown flag becomes a value, `--flag=no` a true boolean); a typo
 * must not be ignored and `--force-recreate=no` must not recreate. This plugin checks what citty
 * parsed against the command's definitions, before the command runs: unknown flags, booleans
 * given a value, and string flags without one are bad input naming the flag.
 */
export const strictArgs = defineCittyPlugin({
  name: 'inferstack-strict-args',
  async setup(context: CommandContext<ArgsDef>) {
    const defs = (typeof context.cmd.args === 'function' ? await context.cmd.args() : await context.cmd.args) ?? {};
    const command = `serve ${(await resolveMeta(context)).name ?? ''}`.trim();
    const known = new Map<string, ArgsDef[string]>();
    const aliases = (def: ArgsDef[string]): string[] => ('alias' in def && def.alias ? [def.alias].flat() : []);
    for (const [name, def] of Object.entries(defs)) {
      for (const n of [name, camel(name), ...aliases(def)]) known.set(n, def);
    }
    const raw = context.rawArgs.slice(0, context.rawArgs.includes('--') ? context.rawArgs.indexOf('--') : undefined);
    const parsed = context.args as Record<string, unknown>;
    for (const key of Object.keys(parsed)) {
      if (key === '_' || known.has(key) || key === 'help' || key === 'h') continue;
      const flag = key.length === 1 ? `-${key}` : `--${key}`;
      throw new CliError(`unknown option "${flag}" for "${command}"`, { hint: `see "${command} --help"` });
    }
    for (const [name, def] of Object.entries(defs)) {
      if (def.type === 'positional') continue;
      const spellings = [name, ...aliases(def)].map((n) => (n.length === 1 ? `-${n}` : `--${n}`));
      const inline = raw.map((t) => /^(--?[^=]+)=(.*)$/s.exec(t)).find((m) => m && spellings.includes(m[1]!));
      if (def.type === 'boolean' && inline && inline[2] !== 'true' && inline[2] !== 'false') {
        throw new CliError(`option "--${name}" takes no value, got "${inline[2]}"`, { hint: `write --${name} alone, or leave it out` });
      }
      if (def.type === 'string' && parsed[name] === '' && raw.some((t) => spellings.includes(t) || spellings.includes(t.split('=')[0]!))) {
        throw new CliError(inline ? `option "${inline[1]}" needs a value, got an empty one` : `option "${spellings.find((s) => raw.includes(s)) ?? `--${name}`}" needs a value`, {
          hint: `see "${command} --help"`,
        });
      }
    }
  },
});

async function resolveMeta(context: CommandContext<ArgsDef>): Promise<{ name?: string }> {
  const meta = context.cmd.meta;
  return (typeof meta === 'function' ? await meta() : await meta) ?? {};
}

/** A whole number ≥ 0 from a flag, or bad input naming the flag. */
export function wholeNumber(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value === '' || !Number.isInteger(n) || n < 0) throw new CliError(`--${name} takes a whole number ≥ 0, not "${value}"`);
  return n;
}
