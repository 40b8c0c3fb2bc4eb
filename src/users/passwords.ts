import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto';
import { COMMON_PASSWORDS } from './common-passwords.js';

/**
 * Passwords: scrypt (memory-hard, node:crypto). Stored as `scrypt$N$r$p$salt$hash` so the cost
 * can be raised later and old hashes still verify. A password never leaves this module in clear
 * except as the argument it came in.
 */

const COST = { N: 2 ** 15, r: 8, p: 1 } as const; // 32 MiB per hash
const KEY_LENGTH = 32;
export const MIN_PASSWORD_LENGTH = 10;

function derive(password: string, salt: Buffer, o: { N: number; r: number; p: number }): Promise<Buffer> {
  const options: ScryptOptions = { N: o.N, r: o.r, p: o.p, maxmem: 256 * o.N * o.r + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, KEY_LENGTH, options, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, COST);
  return ['scrypt', COST.N, COST.r, COST.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** A hash of a random password: verifying against it costs the same as against a real one. */
let dummyHash: Promise<string> | undefined;

/** Checks a password against a stored hash in constant time. `stored` undefined = unknown user. */
export async function verifyPassword(password: string, stored: string | undefined): Promise<boolean> {
  if (!stored) dummyHash ??= hashPassword(randomBytes(16).toString('hex'));
  const hash = stored ?? (await dummyHash!);
  const parts = hash.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [, n, r, p, salt, key] = parts as [string, string, string, string, string, string];
  const expected = Buffer.from(key, 'base64url');
  const got = await derive(password, Buffer.from(salt, 'base64url'), {
    N: Number(n),
    r: Number(r),
    p: Number(p),
  });
  return got.length === expected.length && timingSafeEqual(got, expected) && stored !== undefined;
}

/**
 * Why a new password is not acceptable (Spanish, to show as is), or null when it is fine:
 * at least MIN_PASSWORD_LENGTH characters, not one of the most common passwords, not the user name.
 */
export function passwordProblem(password: string, usuario?: string): string | null {
  if ([...password].length < MIN_PASSWORD_LENGTH) {
    return `La clave debe tener al menos ${MIN_PASSWORD_LENGTH} caracteres.`;
  }
  if (password.length > 200) return 'La clave no puede tener más de 200 caracteres.';
  const lower = password.toLowerCase();
  if (COMMON_PASSWORDS.has(lower) || /^(.)\1+$/.test(password) || isSequence(lower)) {
    return 'Esa clave es de las más usadas y fáciles de adivinar; elija otra (por ejemplo, tres o cuatro palabras).';
  }
  if (usuario && lower.includes(usuario.toLowerCase()) && usuario.length >= 4) {
    return 'La clave no puede contener el nombre de usuario.';
  }
  return null;
}

function isSequence(s: string): boolean {
  const runs = [
    '0123456789012345678901234567890',
    'abcdefghijklmnopqrstuvwxyz',
    'qwertyuiopasdfghjklzxcvbnm',
  ];
  return runs.some((r) => r.includes(s) || r.split('').reverse().join('').includes(s));
}
