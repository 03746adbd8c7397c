import { globalAgent } from 'node:http';
import { runCli } from './main.js';

// The bin's program, bundled into one CommonJS file (dist/cli.cjs) that dist/serve.cjs loads with
// V8's code cache (see src/bin.ts).

// Node's HTTP agent works out a TLS server name for every request, even to the Docker socket; for a
// name such as "localhost" that runs net's IPv6 pattern, whose first use compiles it (about a
// tenth of a bare `node -e 0` on our machines, every run). Plain HTTP never uses that name.
(globalAgent as typeof globalAgent & { options: { servername?: string } }).options.servername = '';

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

void runCli(process.argv.slice(2), { signal: controller.signal }).then((code) => {
  process.exitCode = code;
  // The work is done: kept-alive sockets (to the daemon, to the models) must not hold the process.
  // Exit once what was written to stdout and stderr has been handed on.
  let pending = 2;
  const done = () => {
    if (--pending === 0) process.exit(code);
  };
  process.stdout.write('', done);
  process.stderr.write('', done);
});
