#!/usr/bin/env node
// A stack driven by the library instead of the CLI: bring it up, read its status, sync the
// gateway and Prometheus, and take it all down again. Ctrl-C stops cleanly.
//
//   node examples/stack-api/lifecycle.mjs [path/to/models.yaml]
//
// Exit code 0 when every step worked, 1 otherwise.
import { openStack } from '@inferstack/stack';

const controller = new AbortController();
process.once('SIGINT', () => controller.abort());

// Progress arrives as data; here, one line for the events worth a line.
function show(event) {
  switch (event.type) {
    case 'service-ready':
      return console.log(`service ${event.service.padEnd(14)} ${event.action}${event.url ? ` ${event.url}` : ''}`);
    case 'ready':
      return console.log(`model   ${event.key.padEnd(14)} ready in ${(event.elapsedMs / 1000).toFixed(1)} s`);
    case 'failed':
      return console.log(`model   ${event.key.padEnd(14)} failed: ${event.error.message}`);
    case 'gateway-synced':
      return console.log(`gateway routes ${event.result.routed.length} model(s)`);
    case 'prometheus-synced':
      return console.log(`prometheus scrapes ${event.result.targets.length} target(s)`);
    case 'removed':
      return console.log(`model   ${event.key.padEnd(14)} removed`);
  }
}

const stack = await openStack({ configPath: process.argv[2] ?? 'model_config/models.yaml', signal: controller.signal, onEvent: show });

const up = await stack.up();
const status = await stack.status();
for (const m of status.models) {
  console.log(`status  ${m.key.padEnd(14)} ${m.state}, ${m.sync}, ${m.routed ? 'routed' : 'not routed'}, scrape ${m.scrape?.health ?? 'none'}`);
}
const sync = await stack.sync();
const down = await stack.down({ all: true });
console.log(`done: up ${up.ok ? 'ok' : 'failed'}, sync ${sync.ok ? 'ok' : 'failed'}, down ${down.ok ? 'ok' : 'failed'}`);
process.exitCode = up.ok && sync.ok && down.ok ? 0 : 1;
