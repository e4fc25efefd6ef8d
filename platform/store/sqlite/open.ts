import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { AccordError } from '../../../primitives/errors/index.js';

export type Db = Database.Database;

/**
 * Opens (creating if needed) a database in WAL mode, and applies the given schema statements idempotently.
 * `cacheMiB` sizes SQLite's page cache (default 2 MiB): the coordinator's signal index is read at random.
 */
export function openDatabase(path: string, schema: readonly string[], cacheMiB = 2): Db {
  let db: Db;
  try {
    mkdirSync(dirname(path), { recursive: true });
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
  return db;
}
