import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { AccordError } from '../../../primitives/errors/index.js';

export type Db = Database.Database;

/**
 * The data folder and database are the owner's alone: a node's database holds raw identifiers, its datasets, and the
 * key that masks identifiers in its audit log. New ones are created owner-only (whatever the umask); existing ones
 * that are ours lose any group and other permissions. One that is not ours is left alone, and the process warns at
 * start (`warnIfReadableByOthers`).
 */
const PRIVATE_DIR = 0o700;
const PRIVATE_FILE = 0o600;
/** Files SQLite keeps next to the database in WAL mode (it gives them the database file's permissions). */
const SIDE_FILES = ['-wal', '-shm'] as const;

/** Removes group and other permissions from `path` if it has any and is ours; leaves it as it is otherwise. */
export function tightenToOwner(path: string): void {
  const stat = statSync(path);
  if ((stat.mode & 0o077) === 0) return;
  if (typeof process.getuid === 'function' && stat.uid !== process.getuid()) return;
  try {
    chmodSync(path, stat.mode & 0o700);
  } catch {
    // Not allowed (another filesystem's rules): the process warns at start that others can read it.
  }
}

/** Creates the database's folder and an empty database file, owner-only, or tightens the existing ones. */
function preparePrivateFiles(path: string): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR });
  tightenToOwner(dir);
  // Created here with 0600 before SQLite opens it (SQLite would use 0644 less the umask); an empty file is a valid
  // new database.
  closeSync(openSync(path, 'a', PRIVATE_FILE));
  tightenToOwner(path);
}

/**
 * Opens (creating if needed) a database in WAL mode, and applies the given schema statements idempotently.
 * `cacheMiB` sizes SQLite's page cache (default 2 MiB): the coordinator's signal index is read at random.
 * The folder is made 0700, the database and its -wal and -shm files 0600 (see `tightenToOwner`).
 */
export function openDatabase(path: string, schema: readonly string[], cacheMiB = 2): Db {
  let db: Db;
  try {
    preparePrivateFiles(path);
    db = new Database(path);
  } catch (err) {
    throw new AccordError('ACCORD_STORE_UNAVAILABLE', { path, reason: (err as Error).message });
  }
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma(`cache_size = ${-Math.round(cacheMiB * 1024)}`);
  db.transaction(() => {
    for (const statement of schema) db.exec(statement);
  })();
  // New side files copy the database's 0600; ones left by an earlier, looser run are tightened here.
  for (const suffix of SIDE_FILES) if (existsSync(path + suffix)) tightenToOwner(path + suffix);
  return db;
}
