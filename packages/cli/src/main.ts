import { readFileSync } from 'node:fs';
import { defineCommand, parseArgs, renderUsage, type ArgsDef, type CommandDef } from 'citty';
import type { CommandEnv } from './context.js';
import { CliError, ExitCode } from './errors.js';
import { Output, stripAnsi, type Streams } from './output.js';
import { doctor, doctorCommand } from './commands/doctor.js';
import { exportCommand, exportStack } from './commands/export.js';
import { init, initCommand } from './commands/init.js';
import { logs, logsCommand } from './commands/logs.js';
import { plan, planCommand } from './commands/plan.js';
import { status, statusCommand } from './commands/status.js';
import { downCommand, stopCommand, stopOrDown } from './commands/stop.js';
import { sync, syncCommand } from './commands/sync.js';
import { unlock, unlockCommand } from './commands/unlock.js';
import { up, upCommand } from './commands/up.js';

type Parsed = Record<string, unknown> & { _: string[] };
type Runner = (ctx: CommandEnv, args: Parsed) => Promise<number>;

const file = (a: Parsed) => String(a['model-config']);

const COMMANDS: Record<string, { def: CommandDef<ArgsDef>; run: Runner }> = {
  up: {
    def: upCommand as CommandDef<ArgsDef>,
    run: (ctx, a) =>
      up(ctx, { models: a._, file: file(a), forceRecreate: Boolean(a['force-recreate']), dryRun: Boolean(a['dry-run']), timeoutSeconds: seconds(a, 'timeout'), json: Boolean(a.json) }),
  },
  plan: { def: planCommand as CommandDef<ArgsDef>, run: (ctx, a) => plan(ctx, { models: a._, file: file(a), exitCode: Boolean(a['exit-code']), forceRecreate: Boolean(a['force-recreate']), json: Boolean(a.json) }) },
  stop: { def: stopCommand as CommandDef<ArgsDef>, run: (ctx, a) => stopOrDown(ctx, 'stop', { models: a._, file: file(a), timeoutSeconds: seconds(a, 'timeout'), json: Boolean(a.json) }) },
  down: {
    def: downCommand as CommandDef<ArgsDef>,
    run: (ctx, a) => stopOrDown(ctx, 'down', { models: a._, file: file(a), timeoutSeconds: seconds(a, 'timeout'), json: Boolean(a.json), all: Boolean(a.all), volumes: Boolean(a.volumes) }),
  },
  status: { def: statusCommand as CommandDef<ArgsDef>, run: (ctx, a) => status(ctx, { file: file(a), json: Boolean(a.json) }) },
  logs: {
    def: logsCommand as CommandDef<ArgsDef>,
    run: (ctx, a) => {
      if (a._.length !== 1) throw new CliError('"serve logs" takes exactly one model', { exitCode: ExitCode.badInput, hint: 'serve logs MODEL [-f] [--tail N]' });
      return logs(ctx, { model: a._[0]!, follow: Boolean(a.follow), tail: seconds(a, 'tail') });
    },
  },
  sync: { def: syncCommand as CommandDef<ArgsDef>, run: (ctx, a) => sync(ctx, { file: file(a), dryRun: Boolean(a['dry-run']), json: Boolean(a.json) }) },
  unlock: { def: unlockCommand as CommandDef<ArgsDef>, run: (ctx) => unlock(ctx) },
  init: { def: initCommand as CommandDef<ArgsDef>, run: (ctx, a) => init(ctx, { dir: a._[0], force: Boolean(a.force), json: Boolean(a.json) }) },
  doctor: { def: doctorCommand as CommandDef<ArgsDef>, run: (ctx, a) => doctor(ctx, { file: file(a), json: Boolean(a.json) }) },
  export: { def: exportCommand as CommandDef<ArgsDef>, run: (ctx, a) => exportStack(ctx, { format: a._[0], file: file(a), output: typeof a.output === 'string' ? a.output : undefined }) },
};

/** The commands `serve` has (for docs and tests). */
export const commandNames: readonly string[] = Object.keys(COMMANDS);

/** Other names of commands: the old tool's `serve serve`, docker's `ps`. */
const ALIASES: Record<string, string> = { serve: 'up', ps: 'status' };

function version(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

export const mainCommand = defineCommand({
  meta: { name: 'serve', version: version(), description: 'Run vLLM models behind a LiteLLM gateway with Prometheus, on Docker, from one models.yaml' },
  subCommands: Object.fromEntries(Object.entries(COMMANDS).map(([name, c]) => [name, c.def])),
});

function seconds(a: Parsed, name: string): number | undefined {
  const v = a[name];
  if (v === undefined || v === '' || v === true) return v === true ? badNumber(name, '') : undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) return badNumber(name, String(v));
  return n;
}

function badNumber(name: string, value: string): never {
  throw new CliError(`--${name} takes a whole number ≥ 0, not "${value}"`, { exitCode: ExitCode.badInput });
}

/** Reject flags the command does not have, instead of ignoring a typo. */
function checkFlags(command: string, def: ArgsDef, argv: string[]): void {
  const names = new Map<string, 'boolean' | 'string'>();
  for (const [name, d] of Object.entries(def)) {
    if (d.type === 'positional') continue;
    const kind = d.type === 'boolean' ? 'boolean' : 'string';
    names.set(name, kind);
    for (const alias of [(d as { alias?: string | string[] }).alias ?? []].flat()) names.set(alias, kind);
  }
  names.set('help', 'boolean');
  names.set('h', 'boolean');
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === '--') break;
    if (!token.startsWith('-') || token === '-') continue;
    const [raw, inline] = token.replace(/^--?/, '').split(/=(.*)/s, 2) as [string, string | undefined];
    const flags = token.startsWith('--') ? [raw] : raw.split('');
    for (const flag of flags) {
      const kind = names.get(flag) ?? (flag.startsWith('no-') && names.get(flag.slice(3)) === 'boolean' ? 'boolean' : undefined);
      if (!kind) {
        throw new CliError(`unknown option "${token.startsWith('--') ? '--' : '-'}${flag}" for "serve ${command}"`, {
          exitCode: ExitCode.badInput,
          hint: `see "serve ${command} --help"`,
        });
      }
      // citty reads any value but "false" as true: "--force-recreate=no" would recreate.
      if (kind === 'boolean' && inline !== undefined && inline !== 'true' && inline !== 'false') {
        throw new CliError(`option "--${flag}" takes no value, got "${inline}"`, { exitCode: ExitCode.badInput, hint: `write --${flag} alone, or leave it out` });
      }
      // An empty value is none: "-c ''" would otherwise read the working directory as the file.
      if (kind === 'string' && (inline === '' || (inline === undefined && flags.length === 1 && argv[i + 1] === ''))) {
        throw new CliError(`option "${token.replace(/=.*$/s, '')}" needs a value, got an empty one`, { exitCode: ExitCode.badInput, hint: `see "serve ${command} --help"` });
      }
      if (kind === 'string' && inline === undefined && flags.length === 1) {
        const next = argv[i + 1];
        // A negative number is a value (the command then says what is wrong with it), not a flag.
        if (next === undefined || (next.startsWith('-') && next !== '-' && !/^-[\d.]/.test(next))) {
          throw new CliError(`option "${token}" needs a value`, { exitCode: ExitCode.badInput, hint: `see "serve ${command} --help"` });
        }
        i++;
      }
    }
  }
}

/** citty's help, without colour when we print none, and with `--` before long aliases. */
async function usage(output: Output, cmd: CommandDef<ArgsDef>, parent?: CommandDef<ArgsDef>): Promise<string> {
  const raw = await renderUsage(cmd, parent);
  const text = output.options.color ? raw : stripAnsi(raw);
  return text.replace(/(^|[\s,]|\x1b\[\d+m)-([a-z][a-z0-9]+(?:-[a-z0-9]+)+)/gm, '$1--$2');
}

/** Options for {@link runCli}. */
export interface RunCliOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  streams?: Streams;
  /** Aborting it is Ctrl-C. */
  signal?: AbortSignal;
}

/**
 * Run the CLI with `argv` (without `node` and the script) and return the exit code. Never
 * calls process.exit; the bin does.
 */
export async function runCli(argv: string[], options: RunCliOptions = {}): Promise<number> {
  const env = options.env ?? process.env;
  const streams = options.streams ?? { out: process.stdout, err: process.stderr };
  const debug = argv.includes('--debug') || env.INFERSTACK_DEBUG === '1';
  const color = Boolean(streams.err.isTTY) && !env.NO_COLOR && env.TERM !== 'dumb';
  const output = new Output(streams, { color, debug });
  const ctx: CommandEnv = { env, cwd: options.cwd ?? process.cwd(), output, signal: options.signal ?? new AbortController().signal };

  try {
    const [first] = argv;
    if (first === '--version' || first === '-v') {
      output.print(version());
      return ExitCode.ok;
    }
    if (first === '--help' || first === '-h' || first === 'help') {
      output.print(await usage(output, mainCommand as CommandDef<ArgsDef>));
      return ExitCode.ok;
    }
    // `serve`, `serve MODEL...` and `serve --flags` are `serve up`, as in the old tool.
    let name = first === undefined || first.startsWith('-') || !(first in COMMANDS || first in ALIASES) ? 'up' : (ALIASES[first] ?? first);
    const rest = name === 'up' && first !== 'up' && first !== 'serve' ? argv : argv.slice(1);
    if (first !== undefined && !first.startsWith('-') && !(first in COMMANDS || first in ALIASES) && /[^\w./-]/.test(first)) {
      name = 'up';
    }
    const command = COMMANDS[name]!;
    const def = (command.def.args ?? {}) as ArgsDef;
    if (rest.includes('--help') || rest.includes('-h')) {
      output.print(await usage(output, command.def, mainCommand as CommandDef<ArgsDef>));
      return ExitCode.ok;
    }
    checkFlags(name, def, rest);
    const parsed = parseArgs(rest, def) as unknown as Parsed;
    return await command.run(ctx, parsed);
  } catch (error) {
    if (error instanceof CliError) {
      output.error(error.message, error.hint, error.details);
      return error.exitCode;
    }
    if ((error as Error)?.name === 'CLIError') {
      output.error((error as Error).message, 'see "serve --help"');
      return ExitCode.badInput;
    }
    if ((error as Error)?.name === 'OperationAbortedError') {
      output.info('interrupted; nothing half-made was left behind. Run the command again to finish.');
      return ExitCode.interrupted;
    }
    output.bug(error);
    return ExitCode.failed;
  }
}
