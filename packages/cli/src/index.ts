export { commandNames, runCli } from './main.js';
export type { RunCliOptions } from './main.js';
export { CliError, ExitCode } from './errors.js';
export type { ExitCodeValue } from './errors.js';
