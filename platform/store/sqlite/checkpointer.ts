/**
 * Background checkpoints for a long-running process's SQLite database. In WAL mode, SQLite by default copies the log
 * into the database file (a checkpoint, with an fsync) inside whichever commit crosses 1 000 pages, on the thread
 * that commits: better-sqlite3 runs on the event loop, so every few seconds one request waits for tens of
 * milliseconds of disk work (measured on the signals query path: p99 about 95 ms against about 15 ms without). Here a
 * worker thread with its own connection checkpoints every `intervalMs` instead, and the process's own connection
 * checkpoints only as a backstop when the log grows past `backstopPages` (the worker stuck or gone).
 */
import { Worker } from 'node:worker_threads';
import type { Db } from './open.js';

const WORKER_URL = new URL('./checkpointer.mjs', import.meta.url);
/** Log pages (4 KiB) after which the process's own connection checkpoints anyway. */
const BACKSTOP_PAGES = 50_000;
/** SQLite's own default, back in force when the worker is gone. */
const DEFAULT_AUTOCHECKPOINT_PAGES = 1_000;
/** After a checkpoint, a log file larger than this is truncated to it (bytes), so one burst does not keep it large. */
const JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024;

export interface Checkpointer {
  stop(): Promise<void>;
}

/**
 * Starts the worker. If it fails or exits on its own, the process's connection goes back to checkpointing every
 * 1 000 pages itself (the short stalls come back, an unbounded log does not) and `onFailure` says so.
 */
export function startCheckpointer(
  db: Db,
  path: string,
  onFailure: (err: unknown) => void,
  intervalMs = 1_000,
): Checkpointer {
  db.pragma(`wal_autocheckpoint = ${BACKSTOP_PAGES}`);
  db.pragma(`journal_size_limit = ${JOURNAL_SIZE_LIMIT}`);
  const worker = new Worker(WORKER_URL, {
    workerData: { path, intervalMs, journalSizeLimit: JOURNAL_SIZE_LIMIT, resolveFrom: import.meta.url },
  });
  worker.unref();
  let stopping = false;
  let exited = false;
  let failed = false;
  const fail = (err: unknown) => {
    if (stopping || failed) return;
    failed = true;
    if (db.open) db.pragma(`wal_autocheckpoint = ${DEFAULT_AUTOCHECKPOINT_PAGES}`);
    onFailure(err);
  };
  worker.on('error', fail);
  const exitedNow = new Promise<void>((resolve) =>
    worker.on('exit', (code) => {
      exited = true;
      fail(new Error(`checkpointer thread exited with code ${code}`));
      resolve();
    }),
  );
  let stopped: Promise<void> | null = null;
  return {
    stop() {
      stopping = true;
      stopped ??= exited
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            const done = () => resolve();
            void exitedNow.then(done);
            worker.on('message', (m) => {
              if (m === 'stopped') void worker.terminate().then(done, done);
            });
            worker.postMessage('stop');
            setTimeout(() => void worker.terminate().then(done, done), 2_000).unref();
          });
      return stopped;
    },
  };
}
