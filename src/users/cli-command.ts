import { createInterface } from 'node:readline';
import type { Db } from '../db/index.js';
import { AppError } from '../errors/index.js';
import { createUser } from './accounts.js';
import { ROLES, type Role } from './roles.js';

export const usuarioUsage = `  usuario crear <usuario> [rol] [nombre]
                          crea un usuario del personal (rol: admin, operador o lectura;
                          por omisión admin). La clave se pide sin mostrarla o se lee de la
                          entrada estándar (una línea). Nunca va en la línea de comandos.`;

/** Reads one line from stdin; on a terminal, without echoing what is typed. */
export async function readSecretLine(prompt: string): Promise<string> {
  const tty = process.stdin.isTTY === true;
  const rl = createInterface({
    input: process.stdin,
    output: tty ? process.stderr : undefined,
    terminal: tty,
  });
  if (tty) {
    process.stderr.write(prompt);
    // Mute the echo: readline writes each typed key to output through _writeToOutput.
    (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = () => {};
  }
  try {
    const line: string = await new Promise((resolve) =>
      rl.once('line', resolve).once('close', () => resolve('')),
    );
    if (tty) process.stderr.write('\n');
    return line;
  } finally {
    rl.close();
  }
}

/** `teltec usuario crear …`. Returns the exit code. */
export async function usuarioCommand(
  db: Db,
  args: string[],
  out: (line: string) => void,
  readSecret: (prompt: string) => Promise<string>,
  now: Date,
): Promise<number> {
  const [sub, usuario, rol = 'admin', ...nombre] = args;
  if (sub !== 'crear' || !usuario) {
    out(`Uso:\n${usuarioUsage}`);
    return 2;
  }
  if (!(ROLES as readonly string[]).includes(rol)) {
    out(`Rol desconocido: ${rol}. Use admin, operador o lectura.`);
    return 2;
  }
  const clave = await readSecret(`Clave para ${usuario}: `);
  try {
    const user = await createUser(db, {
      usuario: usuario.trim().toLowerCase(),
      nombre: nombre.join(' ').trim() || usuario,
      rol: rol as Role,
      clave,
      now,
    });
    out(`Usuario creado: ${user.usuario} (${user.rol}). Ya puede ingresar en la página de administración.`);
    return 0;
  } catch (err) {
    if (err instanceof AppError) {
      out(err.message);
      return 1;
    }
    throw err;
  }
}
