import { chmodSync, lstatSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';

/**
 * DATA_DIR holds the database (its WAL holds cédulas and phones) and the admin token: it is the
 * owner's only. Folders 0700, files 0600, on first start and whenever an existing folder is
 * opened; and the process umask is 077, so files the embedded database creates later (it writes
 * through node:fs with its own modes) are born private too.
 */
export function secureDataDir(dir: string): { fixed: number } {
  // Before anything is created: the database and everything else this process writes.
  process.umask(0o077);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  let fixed = 0;
  const walk = (p: string) => {
    const st = lstatSync(p);
    // Links are not ours to change (chmod would follow them); the lock socket is born 0700 and
    // lives in the private folder.
    if (st.isSymbolicLink() || st.isSocket()) return;
    const want = st.isDirectory() ? 0o700 : 0o600;
    if ((st.mode & 0o777) !== want) {
      chmodSync(p, want);
      fixed++;
    }
    if (st.isDirectory()) for (const name of readdirSync(p)) walk(path.join(p, name));
  };
  walk(dir);
  return { fixed };
}
