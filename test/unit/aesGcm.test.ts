// Differential test of the worker build's AES-GCM (scripts/worker/aes_gcm_fast.c,
// compiled into libsrtp in place of aes_gcm_ossl.c) against OpenSSL's EVP AES-GCM.
// A C harness (test/support/aesGcm/harness.c) compiles that file unchanged with gcc
// and the system OpenSSL and libsrtp2 headers, calls it as libsrtp does, and checks
// random keys (128/256), IVs, AAD and payload lengths (0 … 4 KB, block edges
// first), tags 16 and 8 bytes, both ways, byte for byte; tampering is refused.
// Built twice: as the CPU runs it (AES-NI block function) and with the CPU check
// forced off (OpenSSL's AES_encrypt block function, what a CPU without AES-NI gets).
import { execFileSync } from 'node:child_process';
import { createHash, randomInt } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..', '..');
const harnessDir = path.join(root, 'test', 'support', 'aesGcm');
const sources = [
  path.join(root, 'scripts', 'worker', 'aes_gcm_fast.c'),
  path.join(harnessDir, 'harness.c'),
  ...fs.readdirSync(path.join(harnessDir, 'include')).sort().map((f) => path.join(harnessDir, 'include', f)),
];
const CASES_PER_CONFIG = 3000; // × 4 configurations (key 128/256 × tag 16/8)

/** Compiles the harness (cached in the OS temp dir by source hash and variant); returns its path. */
function harness(variant: 'cpu' | 'no-aesni'): string {
  const flags = ['-O2', '-Wall', '-Wextra', '-Wno-unused-parameter'];
  if (variant === 'no-aesni') flags.push('-D__builtin_cpu_supports(x)=0');
  const hash = createHash('sha256');
  for (const f of sources) hash.update(f).update(fs.readFileSync(f));
  hash.update(flags.join(' '));
  const bin = path.join(os.tmpdir(), `chorus-aes-gcm-${variant}-${hash.digest('hex').slice(0, 16)}`);
  if (!fs.existsSync(bin)) {
    const tmp = `${bin}.${process.pid}`;
    execFileSync(
      'gcc',
      [...flags, '-I', path.join(harnessDir, 'include'), '-I', '/usr/include/srtp2', path.join(harnessDir, 'harness.c'), '-lcrypto', '-o', tmp],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    fs.renameSync(tmp, bin);
  }
  return bin;
}

function run(bin: string, seed: number): string {
  try {
    return execFileSync(bin, [String(seed), String(CASES_PER_CONFIG)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (err) {
    const e = err as { stderr?: string; status?: number };
    throw new Error(`harness failed (seed ${seed}, exit ${e.status}): ${e.stderr ?? String(err)}`);
  }
}

const cpuHasAes = fs.readFileSync('/proc/cpuinfo', 'utf8').split('\n').some((l) => l.startsWith('flags') && /\baes\b/.test(l));
// A fresh seed each run, printed on failure; CHORUS_AES_GCM_SEED replays one.
const seed = Number(process.env.CHORUS_AES_GCM_SEED ?? randomInt(1, 2 ** 47));

describe('worker AES-GCM (scripts/worker/aes_gcm_fast.c) against OpenSSL EVP', () => {
  it('agrees byte for byte both ways and refuses tampering, with the AES-NI block function this CPU uses', () => {
    const out = run(harness('cpu'), seed);
    // A wrong AES-NI key schedule would silently fall back to AES_encrypt: say which path ran.
    expect(out).toBe(`block=${cpuHasAes ? 'aesni' : 'openssl'} cases=${4 * CASES_PER_CONFIG}`);
  });

  it('agrees and refuses tampering with the fallback block function (CPU without AES-NI)', () => {
    const out = run(harness('no-aesni'), seed + 1);
    expect(out).toBe(`block=openssl cases=${4 * CASES_PER_CONFIG}`);
  });
});
