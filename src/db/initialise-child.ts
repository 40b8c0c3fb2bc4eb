/**
 * The child process of `initialisePgliteDir`: creates the cluster in the folder named by its
 * argument and applies the migrations, then exits, and the wasm heap both grew goes with it.
 */
import { migrate } from './migrate.js';
import { createPgliteDb } from './pglite.js';

const dir = process.argv[2];
if (!dir) throw new Error('uso: initialise-child <carpeta>');
const db = await createPgliteDb(dir);
try {
  await migrate(db);
} finally {
  await db.close();
}
