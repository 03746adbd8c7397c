import { describe, expect, test } from 'vitest';
import { containerNameForKey, isValidModelKey, keyFromContainerName, modelKeyProblem } from './container-name.js';

/** Small deterministic PRNG (mulberry32) so a failure can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DOCKER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

describe('containerNameForKey', () => {
  test('follows the reference naming', () => {
    expect(containerNameForKey('qwen-vl-4b-instruct')).toBe('inference-qwen-vl-4b-instruct');
    expect(containerNameForKey('Qwen/Qwen2.5-7B-Instruct')).toBe('inference-Qwen--Qwen2.5-7B-Instruct');
    expect(containerNameForKey('a/b/c')).toBe('inference-a--b--c');
  });

  test.each([
    ['a b', 'space'],
    ['$(rm -rf)', 'characters'],
    ['../x', '".."'],
    ['a--b', '"--"'],
    ['a..b', '".."'],
    ['.hidden', 'starts with "."'],
    ['/abs', 'starts with "/"'],
    ['trailing/', 'ends with "/"'],
    ['-flag', 'starts with "-"'],
    ['a-/b', 'next to "/"'],
    ['a/-b', 'next to "/"'],
    ['a//b', '"//"'],
    ['', 'empty'],
    ['x'.repeat(129), 'longer'],
    ['ünïcode', 'characters'],
  ])('refuses %j', (key, reason) => {
    expect(modelKeyProblem(key)).toContain(reason);
    expect(() => containerNameForKey(key)).toThrow(TypeError);
  });
});

describe('keyFromContainerName', () => {
  test('reads back names, with or without the API\'s leading slash', () => {
    expect(keyFromContainerName('inference-Qwen--Qwen2.5-7B-Instruct')).toBe('Qwen/Qwen2.5-7B-Instruct');
    expect(keyFromContainerName('/inference-qwen')).toBe('qwen');
  });

  test.each(['litellm', 'prometheus', 'inference-', 'inference-a---b', 'inference--x', 'inference-a..b', 'other-inference-x'])(
    'ignores %j',
    (name) => {
      expect(keyFromContainerName(name)).toBeUndefined();
    },
  );

  test('round-trips every valid key and maps distinct keys to distinct valid Docker names (property)', () => {
    const random = prng(20260501);
    const alphabet = 'abcXYZ019._/-';
    const names = new Map<string, string>();
    let valid = 0;
    for (let n = 0; n < 20000; n++) {
      const length = 1 + Math.floor(random() * 12);
      let key = '';
      for (let i = 0; i < length; i++) key += alphabet[Math.floor(random() * alphabet.length)];
      if (!isValidModelKey(key)) {
        expect(() => containerNameForKey(key)).toThrow();
        continue;
      }
      valid++;
      const name = containerNameForKey(key);
      expect(name).toMatch(DOCKER_NAME);
      expect(keyFromContainerName(name)).toBe(key);
      expect(keyFromContainerName(`/${name}`)).toBe(key);
      const other = names.get(name);
      if (other !== undefined) expect(other).toBe(key);
      names.set(name, key);
    }
    // The generator must actually reach the interesting cases.
    expect(valid).toBeGreaterThan(2000);
    expect([...names.values()].some((k) => k.includes('/'))).toBe(true);
    expect([...names.values()].some((k) => k.includes('.'))).toBe(true);
  });

  test('never returns a key for a name no key maps to (property)', () => {
    const random = prng(7);
    const alphabet = 'ab09._-';
    for (let n = 0; n < 5000; n++) {
      let tail = '';
      const length = 1 + Math.floor(random() * 10);
      for (let i = 0; i < length; i++) tail += alphabet[Math.floor(random() * alphabet.length)];
      const name = `inference-${tail}`;
      const key = keyFromContainerName(name);
      if (key !== undefined) expect(containerNameForKey(key)).toBe(name);
    }
  });
});
