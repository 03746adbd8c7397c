import { describe, expect, test } from 'vitest';
import { type ConfigIssue, ConfigValidationError } from './errors.js';
import { type ParseConfigOptions, parseConfig } from './parse-config.js';

const base: ParseConfigOptions = { file: 'models.yaml', cwd: '/proj', homeDir: '/home/u' };

function issuesOf(text: string, options: ParseConfigOptions = {}): ConfigIssue[] {
  try {
    parseConfig(text, { ...base, ...options });
  } catch (error) {
    if (error instanceof ConfigValidationError) return error.issues;
    throw error;
  }
  throw new Error('expected a ConfigValidationError');
}

const codes = (issues: ConfigIssue[]) => issues.map((i) => `${i.code} ${i.line}:${i.column}`);

describe('hosts', () => {
  test('without hosts: one host, "local", every model on it', () => {
    const c = parseConfig('models:\n  a: {model: x, gpus: none}\n', base);
    expect(c.hosts).toEqual([{ name: 'local', local: true }]);
    expect(c.models[0]?.host).toBe('local');
  });

  test('endpoints, files relative to the project directory, addresses defaulting to the endpoint host', () => {
    const c = parseConfig(
      [
        'hosts:',
        '  gpu2:',
        '    endpoint: ssh://root@gpu2.lan:2222',
        '    ssh: {private-key: keys/id_ed25519, known-hosts: ~/.ssh/known_hosts}',
        '  gpu3:',
        '    endpoint: tcp://10.0.0.13:2376',
        '    tls: {ca: certs/ca.pem, cert: certs/cert.pem, key: /etc/docker/key.pem}',
        '    address: 192.168.7.13',
        '  side:',
        '    endpoint: unix:///var/run/docker-b.sock',
        '    address: 172.31.250.1',
        '    allow-open-models: true',
        'models:',
        '  a: {model: x, gpus: none}',
        '  b: {model: y, gpus: none, host: gpu2, api-key: sk-b}',
        '  c: {model: z, gpus: none, host: gpu3, api-key: sk-c}',
        '  d: {model: w, gpus: none, host: side}',
      ].join('\n'),
      base,
    );
    expect(c.hosts.map((h) => h.name)).toEqual(['local', 'gpu2', 'gpu3', 'side']);
    expect(c.hosts[1]).toEqual({
      name: 'gpu2',
      local: false,
      endpoint: 'ssh://root@gpu2.lan:2222',
      ssh: { privateKeyPath: '/proj/keys/id_ed25519', knownHostsPath: '/home/u/.ssh/known_hosts' },
      address: 'gpu2.lan',
      source: { file: 'models.yaml', line: 2, column: 3 },
    });
    expect(c.hosts[2]).toMatchObject({ tls: { ca: '/proj/certs/ca.pem', cert: '/proj/certs/cert.pem', key: '/etc/docker/key.pem' }, address: '192.168.7.13' });
    expect(c.hosts[3]).toMatchObject({ endpoint: 'unix:///var/run/docker-b.sock', address: '172.31.250.1' });
    expect(c.models.map((m) => m.host)).toEqual(['local', 'gpu2', 'gpu3', 'side']);
  });

  test('the host is not part of the spec hash (a model moved to another host is created there, not "changed")', () => {
    const one = parseConfig('models:\n  a: {model: x, gpus: none}\n', base);
    const two = parseConfig('hosts:\n  b: {endpoint: "ssh://root@b", allow-open-models: true}\nmodels:\n  a: {model: x, gpus: none, host: b}\n', base);
    expect(two.models[0]?.specHash).toBe(one.models[0]?.specHash);
  });

  test('an unknown host, with "did you mean"', () => {
    const issues = issuesOf('hosts:\n  gpu2: {endpoint: "ssh://root@gpu2"}\nmodels:\n  a: {model: x, host: gpu3}\n  b: {model: x, host: elsewhere}\n');
    expect(codes(issues)).toEqual(['unknown-host 4:23', 'unknown-host 5:23']);
    expect(issues[0]?.message).toBe('model "a": host "gpu3" is not defined');
    expect(issues[0]?.hint).toMatch(/gpu2/);
    expect(issues[1]?.hint).toMatch(/define it under hosts:/);
  });

  test('bad endpoints say why, never showing a password', () => {
    const issues = issuesOf(
      [
        'hosts:',
        '  a: {endpoint: "ftp://x"}',
        '  b: {endpoint: "tcp://10.0.0.2"}',
        '  c: {endpoint: "unix://var/run/docker.sock"}',
        '  d: {endpoint: "ssh://root:hunter2secret@d"}',
        '  e: {endpoint: "ssh://root@e/path"}',
        'models:',
        '  m: {model: x}',
      ].join('\n'),
    );
    expect(codes(issues)).toEqual(['invalid-value 2:17', 'invalid-endpoint 3:17', 'invalid-endpoint 4:17', 'invalid-endpoint 5:17', 'invalid-endpoint 6:17']);
    expect(issues[1]?.message).toMatch(/has no port/);
    expect(issues[2]?.message).toMatch(/not an absolute socket path/);
    expect(JSON.stringify(issues)).not.toContain('hunter2secret');
  });

  test('a host with models needs an address others reach it on', () => {
    const issues = issuesOf(
      ['hosts:', '  sock: {endpoint: "unix:///run/b.sock"}', '  loop: {endpoint: "tcp://127.0.0.1:2376"}', '  idle: {endpoint: "unix:///run/c.sock"}', 'models:', '  m: {model: x, host: sock}', '  n: {model: x, host: loop}'].join('\n'),
    );
    expect(codes(issues)).toEqual(['missing-address 2:3', 'missing-address 3:3']);
    expect(issues[0]?.message).toMatch(/host "sock" runs models \(e\.g\. "m"\) but has no address: its endpoint is a unix socket/);
    expect(issues[1]?.message).toMatch(/loopback address 127\.0\.0\.1/);
  });

  test('tls and ssh must fit the endpoint; files must exist (when checked)', () => {
    const issues = issuesOf(
      [
        'hosts:',
        '  a:',
        '    endpoint: ssh://root@a',
        '    tls: {ca: ca.pem, cert: cert.pem, key: key.pem}',
        '  b:',
        '    endpoint: tcp://b:2376',
        '    tls: {ca: /there/ca.pem, cert: /missing/cert.pem, key: /there/key.pem}',
        '    ssh: {private-key: /there/id}',
        'models:',
        '  m: {model: x}',
      ].join('\n'),
      { fileExists: (p) => p.startsWith('/there/') },
    );
    expect(codes(issues)).toEqual(['tls-not-tcp 4:5', 'missing-file 4:15', 'missing-file 4:29', 'missing-file 4:44', 'missing-file 7:36', 'ssh-not-ssh 8:5']);
    expect(issues.find((i) => i.line === 7)?.message).toBe('host "b": the TLS certificate /missing/cert.pem does not exist');
  });

  test('tls needs all three files', () => {
    const issues = issuesOf('hosts:\n  a:\n    endpoint: tcp://a:2376\n    tls: {ca: ca.pem}\nmodels:\n  m: {model: x}\n');
    expect(codes(issues)).toEqual(['missing-key 4:10', 'missing-key 4:10']);
    expect(issues.map((i) => i.message)).toEqual(['host "a".tls has no "cert"', 'host "a".tls has no "key"']);
  });

  test('duplicate names, one daemon named twice, the reserved name, bad names', () => {
    const issues = issuesOf(
      [
        'hosts:',
        '  a: {endpoint: "ssh://root@box:22"}',
        '  a: {endpoint: "ssh://root@other"}',
        '  b: {endpoint: "ssh://root@BOX"}',
        '  local: {endpoint: "unix:///var/run/docker.sock"}',
        '  Big: {endpoint: "ssh://root@big"}',
        'models:',
        '  m: {model: x}',
      ].join('\n'),
    );
    expect(codes(issues)).toEqual(['duplicate-key 3:3', 'duplicate-endpoint 4:17', 'reserved-host 5:3', 'invalid-host-name 6:3']);
  });

  test('GPU sums are per host: GPU 0 of two hosts are two GPUs', () => {
    const ok = parseConfig(
      'hosts:\n  b: {endpoint: "ssh://root@b", allow-open-models: true}\nmodels:\n  x: {model: x, gpus: [0], gpu-memory-utilization: 0.8}\n  y: {model: y, gpus: [0], gpu-memory-utilization: 0.8, host: b}\n',
      base,
    );
    expect(ok.models).toHaveLength(2);
    const issues = issuesOf(
      'hosts:\n  b: {endpoint: "ssh://root@b", allow-open-models: true}\nmodels:\n  x: {model: x, gpus: [0], gpu-memory-utilization: 0.8, host: b}\n  y: {model: y, gpus: [0], gpu-memory-utilization: 0.8, host: b}\n',
    );
    expect(issues.map((i) => i.code)).toEqual(['gpu-oversubscribed']);
    expect(issues[0]?.message).toMatch(/GPU 0 of host b is shared by "x", "y"/);
  });
});

describe('models open beyond loopback', () => {
  const yaml = (host: string, model: string) => `hosts:\n  gpu2: ${host}\nmodels:\n  a: {model: x, gpus: none}\n  b: ${model}\n`;

  test('a model published on another host\'s address without an api-key is refused at its host:, with both ways out', () => {
    const issues = issuesOf(yaml('{endpoint: "ssh://deploy@gpu2.lan"}', '{model: x, gpus: none, host: gpu2}'));
    expect(codes(issues)).toEqual(['open-model 5:35']);
    expect(issues[0]?.message).toBe('model "b" would be published on gpu2.lan (host gpu2) without an api-key: anyone who reaches gpu2.lan could use it');
    expect(issues[0]?.hint).toContain('api-key: "${');
    expect(issues[0]?.hint).toContain('allow-open-models: true');
  });

  test('an api-key, or allow-open-models: true on the host, or a loopback address lets it through', () => {
    const settings = { B_KEY: 'sk-b-0123456789' };
    expect(() => parseConfig(yaml('{endpoint: "ssh://deploy@gpu2.lan"}', '{model: x, gpus: none, host: gpu2, api-key: "${B_KEY}"}'), { ...base, settings })).not.toThrow();
    const open = parseConfig(yaml('{endpoint: "ssh://deploy@gpu2.lan", allow-open-models: true}', '{model: x, gpus: none, host: gpu2}'), base);
    expect(open.hosts[1]).toMatchObject({ name: 'gpu2', allowOpenModels: true });
    for (const address of ['127.0.0.1', 'localhost', '"::1"']) {
      expect(() => parseConfig(yaml(`{endpoint: "unix:///run/b.sock", address: ${address}}`, '{model: x, gpus: none, host: gpu2}'), base)).not.toThrow();
    }
  });

  test('allow-open-models: false is the default, and it takes true or false only', () => {
    expect(codes(issuesOf(yaml('{endpoint: "ssh://deploy@gpu2.lan", allow-open-models: false}', '{model: x, gpus: none, host: gpu2}')))).toEqual(['open-model 5:35']);
    expect(codes(issuesOf(yaml('{endpoint: "ssh://deploy@gpu2.lan", allow-open-models: yes please}', '{model: x, gpus: none, host: gpu2, api-key: k}')))).toEqual(['invalid-type 2:64']);
  });
});

describe('the README example of hosts:', () => {
  test('parses as documented', async () => {
    const { readFile } = await import('node:fs/promises');
    const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('### Several Docker hosts'));
    const yaml = /```yaml\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
    const c = parseConfig(yaml, { ...base, settings: { GPU2_KEY: 'sk-gpu2-0123456789' } });
    expect(c.hosts.map((h) => [h.name, h.address])).toEqual([
      ['local', undefined],
      ['gpu2', '10.0.0.12'],
      ['gpu3', '10.0.0.13'],
    ]);
    expect(c.hosts[1]?.ssh).toEqual({ privateKeyPath: '/home/u/.ssh/id_ed25519', knownHostsPath: '/home/u/.ssh/known_hosts' });
    expect(c.models.map((m) => m.host)).toEqual(['gpu2', 'local']);
  });
});
