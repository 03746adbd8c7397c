import { readFileSync } from 'node:fs';
import { defineCommand, renderUsage, runCommand, type ArgsDef, type CommandDef } from 'citty';
import { meta, type CommandName } from './commands/meta.js';
import type { CommandEnv } from './context.js';
import { ExitCode } from './errors.js';
import { Output, stripAnsi, type Streams } from './output.js';

type Loader = () => Promise<CommandDef<ArgsDef>>;
const load =
  <K extends string>(importer: () => Promise<Record<K, unknown>>, name: K): Loader =>
  async () =>
    (await importer())[name] as CommandDef<ArgsDef>;

/** The commands, each loaded only when it runs or shows its own help. */
const COMMANDS: Record<CommandName, Loader> = {
  up: load(() => import('./commands/up.js'), 'default'),
  plan: load(() => import('./commands/plan.js'), 'default'),
  stop: load(() => import('./commands/stop.js'), 'stopCommand'),
  down: load(() => import('./commands/stop.js'), 'downCommand'),
  status: load(() => import('./commands/status.js'), 'default'),
  logs: load(() => import('./commands/logs.js'), 'default'),
  pull: load(() => import('./commands/pull.js'), 'default'),
  bench: load(() => import('./commands/bench.js'), 'default'),
  sync: load(() => import('./commands/sync.js'), 'default'),
  unlock: load(() => import('./commands/unlock.js'), 'default'),
  init: load(() => import('./commands/init.js'), 'default'),
  doctor: load(() => import('./commands/doctor.js'), 'default'),
  export: load(() => import('./commands/export.js'), 'default'),
  watch: load(() => import('./commands/watch.js'), 'default'),
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

/** `serve` itself, for its help: the commands by their one-line description, none loaded. */
const main = defineCommand({
  meta: { name: 'serve', version: version(), description: 'Run vLLM models behind a LiteLLM gateway with Prometheus, on Docker, from one models.yaml' },
  subCommands: Object.fromEntries(Object.keys(COMMANDS).map((name) => [name, { meta: meta(name as CommandName) }])),
});

/**
 * The command line as citty dispatches it. `serve`, `serve MODEL...` and `serve --flags` are
 * `serve up` (as in the old tool), and the aliases name their command.
 */
function normalise(argv: string[]): string[] {
  const [first, ...rest] = argv;
  if (first !== undefined && first in ALIASES) return [ALIASES[first]!, ...rest];
  if (first === undefined || !(first in COMMANDS)) return ['up', ...argv];
  return argv;
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
  const data: CommandEnv = { env, cwd: options.cwd ?? process.cwd(), output, signal: options.signal ?? new AbortController().signal };

  try {
    const [first] = argv;
    if (first === '--version' || first === '-v') {
      output.print(version());
      return ExitCode.ok;
    }
    if (first === '--help' || first === '-h' || first === 'help') {
      output.print(await usage(output, main));
      return ExitCode.ok;
    }
    const [name, ...rest] = normalise(argv);
    const command = await COMMANDS[name as CommandName]();
    if (rest.slice(0, rest.includes('--') ? rest.indexOf('--') : undefined).some((a) => a === '--help' || a === '-h')) {
      output.print(await usage(output, command, main));
      return ExitCode.ok;
    }
    // citty runs the command (typed arguments, our strictness plugin); the dispatch above is ours
    // because citty's own does not pass `data` or the result through to a sub-command.
    const { result } = await runCommand(command, { rawArgs: rest, data });
    return result as number;
  } catch (error) {
    const { reportFor } = await import('./error-report.js');
    const report = reportFor(error);
    if (!report) {
      output.bug(error);
      return ExitCode.failed;
    }
    if (report.exitCode === ExitCode.interrupted) output.info(report.message);
    else output.error(report.message, report.hint, [...report.details]);
    return report.exitCode;
  }
}
