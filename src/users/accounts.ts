import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { type Db, isUniqueViolation, type Queryable } from '../db/index.js';
import { AppError } from '../errors/index.js';
import { createSessionStore, createSignInLimiter } from './credentials.js';
import { hashPassword, passwordProblem, verifyPassword } from './passwords.js';
import { createUsersRepository, type User } from './repository.js';
import type { Role } from './roles.js';

/**
 * The rules around staff accounts: who may sign in, creating and changing users, the one-time
 * setup code for the first administrator. The one door for every change of a `users` row.
 */

function checkPassword(clave: string, usuario: string): void {
  const problem = passwordProblem(clave, usuario);
  if (problem) throw new AppError('CLAVE_DEBIL', problem, [{ campo: 'clave', mensaje: problem }]);
}

export async function createUser(
  db: Queryable,
  u: { usuario: string; nombre: string; rol: Role; clave: string; now: Date },
): Promise<User> {
  checkPassword(u.clave, u.usuario);
  const passwordHash = await hashPassword(u.clave);
  try {
    return await createUsersRepository(db).create({ ...u, passwordHash });
  } catch (err) {
    if (isUniqueViolation(err)) throw new AppError('USUARIO_DUPLICADO');
    throw err;
  }
}

/**
 * Changes a user. Deactivating a user or changing their password closes their sessions; the
 * last active administrator cannot be demoted or deactivated.
 */
export async function updateUser(
  db: Db,
  id: number,
  p: { nombre?: string; rol?: Role; activo?: boolean; clave?: string; now: Date },
): Promise<User> {
  const passwordHash = p.clave === undefined ? undefined : await hashPassword(p.clave);
  return db.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext('teltec:users'))`);
    const repo = createUsersRepository(tx);
    const before = await repo.get(id);
    if (!before) throw new AppError('NO_ENCONTRADO', `El usuario ${id} no existe.`);
    if (p.clave !== undefined) checkPassword(p.clave, before.usuario);
    const losesAdmin =
      before.rol === 'admin' && before.activo && (p.activo === false || (p.rol && p.rol !== 'admin'));
    if (losesAdmin && (await repo.otherActiveAdmins(id)) === 0) throw new AppError('ULTIMO_ADMINISTRADOR');
    const after = (await repo.update(id, { ...p, passwordHash }))!;
    if (p.activo === false || passwordHash) await createSessionStore(tx).closeOthers(id);
    return after;
  });
}

/** Sign-in: the limit first (even a right password waits), then the password, in constant time. */
export async function signIn(
  db: Queryable,
  p: { usuario: string; clave: string; ip: string; now: Date },
): Promise<User> {
  const limiter = createSignInLimiter(db);
  const wait = await limiter.retryAfter(p.usuario, p.ip, p.now);
  if (wait > 0) {
    const minutes = Math.ceil(wait / 60);
    throw new AppError(
      'DEMASIADOS_INTENTOS',
      `Demasiados intentos fallidos de ingreso. Espere ${minutes} ${minutes === 1 ? 'minuto' : 'minutos'} y vuelva a intentarlo.`,
      { reintentar_en_segundos: wait },
    );
  }
  const user = await createUsersRepository(db).findForSignIn(p.usuario);
  const ok = await verifyPassword(p.clave, user?.password_hash);
  if (!ok || !user?.activo) {
    await limiter.recordFailure(p.usuario, p.ip, p.now);
    throw new AppError('CREDENCIALES_INVALIDAS');
  }
  await limiter.clearUser(p.usuario);
  const { password_hash: _, ...safe } = user;
  return safe;
}

// --- First administrator -------------------------------------------------------------------------

const SETUP_KEY = 'staff.codigo_configuracion';
const digest = (s: string) => createHash('sha256').update(s).digest('hex');
const normaliseCode = (s: string) => s.toUpperCase().replace(/[^A-Z0-9]/g, '');

/**
 * On a database without users, a new one-time setup code (the caller prints it in the log; only
 * its hash is stored). Null when users exist.
 */
export async function issueSetupCode(db: Queryable): Promise<string | null> {
  if ((await createUsersRepository(db).count()) > 0) {
    await db.query('DELETE FROM settings WHERE key = $1', [SETUP_KEY]);
    return null;
  }
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  const bytes = randomBytes(12);
  const raw = [...bytes].map((b) => alphabet[b % alphabet.length]).join('');
  const code = `${raw.slice(0, 4)}-${raw.slice(4, 8)}-${raw.slice(8, 12)}`;
  await db.query(
    `INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, now())
     ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`,
    [SETUP_KEY, JSON.stringify({ hash: digest(normaliseCode(code)) })],
  );
  return code;
}

/** True while no user exists (the sign-in page offers the first-administrator form). */
export async function needsSetup(db: Queryable): Promise<boolean> {
  return (await createUsersRepository(db).count()) === 0;
}

/** Creates the first administrator with the setup code; the code then stops working. */
export async function createFirstAdmin(
  db: Db,
  p: { codigo: string; usuario: string; nombre: string; clave: string; now: Date },
): Promise<User> {
  checkPassword(p.clave, p.usuario);
  return db.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext('teltec:users'))`);
    if ((await createUsersRepository(tx).count()) > 0) throw new AppError('YA_CONFIGURADO');
    const { rows } = await tx.query<{ value: { hash?: string } }>(
      'SELECT value FROM settings WHERE key = $1',
      [SETUP_KEY],
    );
    const stored = rows[0]?.value.hash;
    const given = digest(normaliseCode(p.codigo));
    if (
      !stored ||
      !timingSafeEqual(Buffer.from(given), Buffer.from(stored.padEnd(given.length).slice(0, given.length)))
    ) {
      throw new AppError('CODIGO_CONFIGURACION_INVALIDO');
    }
    const user = await createUser(tx, { ...p, rol: 'admin' });
    await tx.query('DELETE FROM settings WHERE key = $1', [SETUP_KEY]);
    return user;
  });
}
