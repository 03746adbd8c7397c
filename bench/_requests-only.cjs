// The reference rows of bench/cli-startup.mjs: only the requests that `serve status` and a no-op
// `serve up` of the bench's stack make, with nothing of serve (Node's http, one CommonJS file).
// What no start-up of a command that asks the same can beat on this machine.
// - status: the stack's containers from the Docker socket, then each running model's /metrics,
//   all at once;
// - up: the daemon's answers a no-op up waits for, in its order: ping, the stack's identity, its
//   lock (a container made, and removed at the end), every container, the watcher, the network,
//   each model (at once), the models and identities again.
//   node bench/_requests-only.cjs status|up NETWORK STACK
'use strict';
const http = require('node:http');

const [command, network, stack] = process.argv.slice(2);
const socketPath = '/var/run/docker.sock';
const request = (options, body) =>
  new Promise((resolve, reject) => {
    const req = http.request({ ...options, ...(body ? { headers: { 'content-type': 'application/json' } } : {}) }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode, text }));
    });
    req.on('error', reject);
    req.end(body ? JSON.stringify(body) : undefined);
  });
const docker = async (method, path, body) => {
  const r = await request({ socketPath, method, path }, body);
  if (r.status >= 400 && r.status !== 404) throw new Error(`${method} ${path}: ${r.status} ${r.text}`);
  return r.text ? JSON.parse(r.text) : undefined;
};
const q = (filters) => encodeURIComponent(JSON.stringify(filters));

async function status() {
  const containers = await docker('GET', `/containers/json?all=1&filters=${q({ label: ['inference.managed=true'], network: [network] })}`);
  const addresses = containers.filter((c) => c.State === 'running').map((c) => c.NetworkSettings.Networks[network].IPAddress);
  const metrics = await Promise.all(addresses.map((host) => request({ host, port: 8000, path: '/metrics' })));
  return `${containers.length} containers, ${metrics.filter((m) => m.text.includes('vllm:num_requests_running')).length} answered`;
}

async function up() {
  await request({ socketPath, path: '/_ping' });
  await docker('GET', `/containers/inferstack-stack-${stack}/json`);
  const lock = await docker('POST', `/containers/create?name=inferstack-bench-requests-${process.pid}`, { Image: 'inferstack/lock:1', Cmd: ['lock'] });
  try {
    const all = await docker('GET', '/containers/json?all=1');
    await docker('GET', `/containers/${stack}-watcher/json`);
    await docker('GET', `/networks?filters=${q({ name: [network] })}`);
    const models = all.filter((c) => c.Labels['inference.managed'] === 'true' && c.NetworkSettings.Networks[network]);
    await Promise.all(models.map((c) => docker('GET', `/containers/${c.Id}/json`)));
    await docker('GET', `/containers/json?all=1&filters=${q({ label: ['inference.managed=true'] })}`);
    await docker('GET', `/containers/json?all=1&filters=${q({ label: ['inferstack.kind=identity'] })}`);
    return `${models.length} models`;
  } finally {
    await docker('DELETE', `/containers/${lock.Id}?force=true`);
  }
}

(command === 'up' ? up() : status())
  .then((line) => {
    process.stdout.write(`${line}\n`);
    process.exit(0);
  }).catch((error) => {
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
});
