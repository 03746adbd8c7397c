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
// Sockets to the daemon may keep the loop alive a moment; the work is done.
setTimeout(() => process.exit(code), 50).unref();
