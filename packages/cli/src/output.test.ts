import { mkdtempSync, rmSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './main.js';
import { Output } from './output.js';
import { Progress } from './render/progress.js';

/** A stream that keeps what is written; `tty` makes it look like a terminal. */
function sink(tty = false) {
  let text = '';
  const stream = Object.assign(new Writable({ write: (c, _e, cb) => ((text += c), cb()) }), tty ? { isTTY: true, columns: 120 } : {});
  return { stream, text: () => text };
}

function output(options: { tty?: boolean; color?: boolean; debug?: boolean } = {}) {
  const out = sink(options.tty);
  const err = sink(options.tty);
  const o = new Output({ out: out.stream, err: err.stream }, { color: options.color ?? false, debug: options.debug ?? false });
  return { o, out: out.text, err: err.text };
}

const SECRET = 'sk-do-not-show-4f9a1c';

describe('the CLI output (consola with our reporter)', () => {
  it('masks every secret value in every line consola reports, on both streams, whatever the call', () => {
    const { o, out, err } = output();
    o.addSecrets([SECRET, 'short', undefined]);
    o.consola.info(`token ${SECRET} in a message`);
    o.consola.warn('a daemon said:', SECRET);
    o.consola.error(new Error(`failed with ${SECRET}`));
    o.consola.log({ nested: { key: SECRET } });
    o.print(`result ${SECRET}`);
    o.json({ key: SECRET });
    o.error(`bad ${SECRET}`, `hint ${SECRET}`, [`detail ${SECRET}`]);
    o.debug(`debug ${SECRET}`);
    const all = out() + err();
    expect(all).not.toContain(SECRET);
    expect(all).toContain('token *** in a message');
    expect(err()).toContain('✖ bad ***\n  detail ***\n  → hint ***\n');
    // Values under 6 characters would mask ordinary words: the existing rule keeps them.
    o.info('a short word');
    expect(err()).toContain('a short word');
  });

  it('keeps results on stdout and everything else on stderr', () => {
    const { o, out, err } = output();
    o.print('TABLE ROW');
    o.json({ a: 1 });
    o.info('progress');
    o.consola.success('done');
    o.consola.warn('careful');
    o.error('failed', 'do this');
    expect(out()).toBe('TABLE ROW\n{\n  "a": 1\n}\n');
    expect(err()).toBe('progress\n✔ done\n! careful\n✖ failed\n  → do this\n');
  });

  it('shows debug lines only with --debug', () => {
    const quiet = output();
    quiet.o.debug('hidden');
    quiet.o.consola.debug('hidden too');
    expect(quiet.err()).toBe('');
    const loud = output({ debug: true });
    loud.o.debug(() => 'computed only when shown');
    loud.o.consola.debug('shown');
    expect(loud.err()).toBe('debug: computed only when shown\ndebug: shown\n');
  });

  it('repeats identical lines as often as they come (no throttling)', () => {
    const { o, out } = output();
    for (let i = 0; i < 12; i++) o.print('');
    expect(out()).toBe('\n'.repeat(12));
  });

  it('colours only when asked (a terminal without NO_COLOR), and never on stdout JSON', () => {
    const plain = output({ tty: true, color: false });
    plain.o.error('failed');
    expect(plain.err()).toBe('✖ failed\n');
    const coloured = output({ tty: true, color: true });
    coloured.o.error('failed');
    coloured.o.json({ a: 'b' });
    expect(coloured.err()).toBe('\x1b[31m✖\x1b[0m failed\n');
    expect(JSON.parse(coloured.out())).toEqual({ a: 'b' });
  });

  it('draws spinners only on a terminal, masked, and clears them before a line that stays', () => {
    const tty = output({ tty: true });
    tty.o.addSecrets([SECRET]);
    const progress = new Progress(tty.o, { cwd: '/' });
    progress.handle({ type: 'creating', key: `m-${SECRET}`, container: 'c' } as never);
    progress.tick();
    progress.handle({ type: 'kept', key: 'other' } as never);
    progress.stop();
    expect(tty.err()).toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] m-\*\*\* {2}creating/);
    expect(tty.err()).toContain('\x1b[1A\x1b[J✔ other  unchanged, running\n');
    expect(tty.err()).not.toContain(SECRET);

    const pipe = output({ tty: false });
    const plain = new Progress(pipe.o, { cwd: '/' });
    plain.handle({ type: 'creating', key: 'm', container: 'c' } as never);
    plain.tick();
    plain.handle({ type: 'kept', key: 'other' } as never);
    plain.stop();
    expect(pipe.err()).toBe('m  creating\n✔ other  unchanged, running\n');
  });
});

describe('serve --json and --debug', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('prints nothing but one JSON document on stdout, debug lines going to stderr', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'inferstack-json-'));
    dirs.push(dir);
    mkdirSync(join(dir, 'model_config'));
    writeFileSync(join(dir, 'model_config', 'models.yaml'), 'models:\n  - tiny: {model: test/tiny, gpus: [0]}\n');
    writeFileSync(join(dir, '.env'), `LITELLM_MASTER_KEY=${SECRET}\n`);
    const out = sink();
    const err = sink();
    const code = await runCli(['plan', '--target', 'kubernetes', '--json', '--debug'], {
      streams: { out: out.stream, err: err.stream },
      cwd: dir,
      env: { DOCKER_HOST: 'tcp://127.0.0.1:1', HOME: dir, INFERSTACK_HASH_KEY: 'k' },
    });
    expect(code, err.text()).toBe(0);
    expect(JSON.parse(out.text())).toMatchObject({ target: 'kubernetes' });
    expect(err.text()).toMatch(/^debug: /m);
    expect(out.text() + err.text()).not.toContain(SECRET);
  });
});
