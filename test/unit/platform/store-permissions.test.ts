/**
 * The node's data folder and database are its user's alone (platform/store/sqlite/open.ts): whatever the umask, a new
 * store gets a 0700 folder and 0600 database, -wal and -shm files, and an existing store left with looser modes (an
 * older release, a copied folder) is tightened when it is opened. Unix only: Windows has no such modes.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { warnIfReadableByOthers } from '../../../platform/config/secret-file.js';
import { openSqliteNodeStore } from '../../../platform/store/sqlite/index.js';
import { recordingLog } from '../../helpers/log.js';

const modeOf = (path: string) => statSync(path).mode & 0o777;

/** The modes of a store's folder and files. */
function modes(dbPath: string, dir: string) {
  return {
    dir: modeOf(dir),
    db: modeOf(dbPath),
    wal: modeOf(`${dbPath}-wal`),
    shm: modeOf(`${dbPath}-shm`),
  };
}
const OWNER_ONLY = { dir: 0o700, db: 0o600, wal: 0o600, shm: 0o600 };

describe.skipIf(process.platform === 'win32')('store files are owner-only', () => {
  let base: string;
  let umask: number;
  beforeAll(() => {
    base = mkdtempSync(join(tmpdir(), 'accord-perms-'));
    // The loosest umask: anything not made owner-only on purpose would be world-readable (even world-writable).
    umask = process.umask(0);
  });
  afterAll(() => {
    process.umask(umask);
    rmSync(base, { recursive: true, force: true });
  });

  it('creates the data folder 0700 and the database, -wal and -shm 0600 under a loose umask', async () => {
    const dir = join(base, 'fresh', 'data');
    const dbPath = join(dir, 'node.db');
    const store = openSqliteNodeStore(dbPath);
    try {
      await store.audit.append({ actor: 'a', action: 'x', target: '', outcome: 'ok', details: {} });
      expect(modes(dbPath, dir)).toEqual(OWNER_ONLY);
    } finally {
      await store.close();
    }
  });

  it('tightens an existing loose folder and database, and side files left by an earlier run', async () => {
    const dir = join(base, 'loose');
    mkdirSync(dir, { mode: 0o777 });
    const dbPath = join(dir, 'node.db');
    // An earlier run without these rules: SQLite's default 0644 (umask 0), WAL side files copying it, still open.
    const earlier = new Database(dbPath);
    earlier.pragma('journal_mode = WAL');
    earlier.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)');
    chmodSync(dbPath, 0o666);
    chmodSync(`${dbPath}-wal`, 0o644);
    chmodSync(`${dbPath}-shm`, 0o644);
    expect(modes(dbPath, dir)).toEqual({ dir: 0o777, db: 0o666, wal: 0o644, shm: 0o644 });
    const store = openSqliteNodeStore(dbPath);
    try {
      expect(modes(dbPath, dir)).toEqual(OWNER_ONLY);
    } finally {
      await store.close();
      earlier.close();
    }
  });

  it('warns about a data folder or file that others can still read', () => {
    const { log, warnings } = recordingLog();
    const dir = join(base, 'shared');
    mkdirSync(dir, { mode: 0o755 });
    writeFileSync(join(dir, 'node.db'), '', { mode: 0o644 });
    warnIfReadableByOthers(dir, 'data', log);
    warnIfReadableByOthers(join(dir, 'node.db'), 'database', log);
    expect(warnings).toEqual([
      'the data folder is readable by other users; chmod 700 it',
      'the database file is readable by other users; chmod 600 it',
    ]);
  });
});
