#!/usr/bin/env node
import { runCli } from './main.js';

// Ctrl-C: the first one stops cleanly (nothing half-made left behind), a second one exits now.
const controller = new AbortController();
let interrupts = 0;
const onSignal = (code: number) => () => {
  interrupts++;
  if (interrupts > 1) process.exit(code);
  process.stderr.write('\nstopping... (press Ctrl-C again to quit at once)\n');
  controller.abort();
};
process.on('SIGINT', onSignal(130));
process.on('SIGTERM', onSignal(143));

const code = await runCli(process.argv.slice(2), { signal: controller.signal });
process.exitCode = code;
// The work is done: kept-alive sockets (to the daemon, to the models) must not hold the process.
// Exit once what was written to stdout and stderr has been handed on.
let pending = 2;
const done = () => {
  if (--pending === 0) process.exit(code);
};
process.stdout.write('', done);
process.stderr.write('', done);
