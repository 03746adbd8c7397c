import { describe, expect, it } from 'vitest';
import { hostKeyAlgorithms, knownHostKeys, knownHostsName } from './known-hosts.js';

const KEY = 'AAAAC3NzaC1lZDI1NTE5AAAAIG680os2k2Cc4M+tKuU542HsWmC9aM1gCWm2k52Z8dtW';
const OTHER = 'AAAAC3NzaC1lZDI1NTE5AAAAIEOfmI2C3kW2d7cDpWQ7m0Pp6pDk8bq4J1gK2s3ZpW1x';

describe('knownHostKeys', () => {
  it('finds hashed entries as `ssh-keygen -H` writes them ([host]:port off port 22)', () => {
    // Written by `ssh-keygen -H` from "[gpu-b.example]:2222 <key>" and "gpu-c.example <key>".
    const text = [
      `|1|zk1Lkwi5idspirAHiLOb95FYCDs=|Rd1HEIyM/tmGAeVbzFa7S7m1c5Y= ssh-ed25519 ${KEY}`,
      `|1|+Q0sjshrOLirDlI9x7b8iCozZa0=|Le0c8bjp3hzHdTWgaXwPs+qVRAA= ssh-ed25519 ${KEY}`,
    ].join('\n');
    expect(knownHostKeys(text, 'gpu-b.example', 2222).keys).toEqual([{ type: 'ssh-ed25519', key: KEY }]);
    expect(knownHostKeys(text, 'GPU-C.example', 22).keys).toEqual([{ type: 'ssh-ed25519', key: KEY }]);
    expect(knownHostKeys(text, 'gpu-b.example', 22).keys).toEqual([]);
    expect(knownHostKeys(text, 'gpu-c.example', 2222).keys).toEqual([]);
  });

  it('matches plain names, lists, wildcards and negations; skips comments and CA lines; collects revoked keys', () => {
    const text = [
      '# comment',
      '',
      `gpu-b,10.0.0.5 ssh-ed25519 ${KEY} a comment`,
      `[10.0.0.5]:2222 ecdsa-sha2-nistp256 ${OTHER}`,
      `*.lab,!bad.lab ssh-rsa ${OTHER}`,
      `@cert-authority *.lab ssh-ed25519 ${OTHER}`,
      `@revoked * ssh-ed25519 ${OTHER}`,
      'broken-line-without-key',
    ].join('\n');
    expect(knownHostKeys(text, 'gpu-b', 22).keys).toEqual([{ type: 'ssh-ed25519', key: KEY }]);
    expect(knownHostKeys(text, '10.0.0.5', 22).keys.map((k) => k.type)).toEqual(['ssh-ed25519']);
    expect(knownHostKeys(text, '10.0.0.5', 2222).keys.map((k) => k.type)).toEqual(['ecdsa-sha2-nistp256']);
    expect(knownHostKeys(text, 'gpu-d.lab', 22).keys.map((k) => k.type)).toEqual(['ssh-rsa']);
    expect(knownHostKeys(text, 'bad.lab', 22).keys).toEqual([]);
    expect(knownHostKeys(text, 'gpu-b', 22).revoked).toEqual([OTHER]);
  });

  it('names hosts as OpenSSH looks them up', () => {
    expect(knownHostsName('GPU-B', 22)).toBe('gpu-b');
    expect(knownHostsName('127.0.0.1', 12222)).toBe('[127.0.0.1]:12222');
  });
});

describe('hostKeyAlgorithms', () => {
  it('offers the algorithms of the known key types (RSA with its SHA-2 signatures first)', () => {
    expect(hostKeyAlgorithms(['ssh-ed25519'])).toEqual(['ssh-ed25519']);
    expect(hostKeyAlgorithms(['ssh-rsa', 'ecdsa-sha2-nistp256'])).toEqual(['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa', 'ecdsa-sha2-nistp256']);
    expect(hostKeyAlgorithms(['sk-ssh-ed25519@openssh.com'])).toEqual([]);
  });
});
