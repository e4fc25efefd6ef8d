/**
 * Background checkpoints (platform/store/sqlite/checkpointer.ts): with them, the process's own commits no longer copy
 * the write-ahead log into the database file (that waited on the event loop); the worker thread does, within about a
 * second, and stopping it leaves the store closable.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startCheckpointer } from '../../../platform/store/sqlite/checkpointer.js';
import { openSqliteCoordinatorStore } from '../../../platform/store/sqlite/index.js';
import { openDatabase } from '../../../platform/store/sqlite/open.js';
import { silentLog } from '../../helpers/log.js';
import { waitFor } from '../../helpers/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'accord-checkpoint-'));
const log = silentLog;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function insertSignals(store: ReturnType<typeof openSqliteCoordinatorStore>, n: number): Promise<void> {
  const signals = Array.from({ length: n }, (_, i) => {
    const token = new Uint8Array(32);
    new DataView(token.buffer).setUint32(0, i);
    return { token, kind: 'application', atMs: Date.now() };
  });
  await store.signals.insert('bank-a', signals, Date.now());
}

describe('background checkpoints', () => {
  it('copy the log into the database file from another thread, not in the commit', async () => {
    const path = join(dir, 'bg.db');
    const store = openSqliteCoordinatorStore(path, { backgroundCheckpoints: { log } });
    const before = statSync(path).size;
    await insertSignals(store, 20_000);
    // The commit itself left the pages in the log (it no longer checkpoints at 1 000 pages)...
    expect(statSync(path).size).toBe(before);
    // ...and the worker copies them within about a second.
    await waitFor('the worker to copy the log', () => statSync(path).size !== before, 5_000, 100);
    expect(statSync(path).size).toBeGreaterThan(before);
    await store.close();
  });

  it('without them, the commit checkpoints on its own thread (what the worker takes off the event loop)', async () => {
    const path = join(dir, 'fg.db');
    const store = openSqliteCoordinatorStore(path);
    const before = statSync(path).size;
    await insertSignals(store, 20_000);
    expect(statSync(path).size).toBeGreaterThan(before);
    await store.close();
  });

  it('when the thread fails, says so once and puts the checkpoints back on the process’s own connection', async () => {
    const db = openDatabase(join(dir, 'lost.db'), []);
    const failures: unknown[] = [];
    // The thread cannot open its connection (no such folder), so it dies at once.
    const checkpointer = startCheckpointer(db, join(dir, 'no-such-folder', 'lost.db'), (err) =>
      failures.push(err),
    );
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(50_000);
    await waitFor('the failure to be reported', () => failures.length > 0, 5_000);
    await new Promise((r) => setTimeout(r, 100));
    expect(failures).toHaveLength(1);
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(1_000);
    await checkpointer.stop();
    db.close();
  });
});
