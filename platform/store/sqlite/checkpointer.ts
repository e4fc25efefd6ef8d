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

export interface Checkpointer {
  stop(): Promise<void>;
}

export function startCheckpointer(db: Db, path: string, intervalMs = 1_000): Checkpointer {
  db.pragma(`wal_autocheckpoint = ${BACKSTOP_PAGES}`);
  const worker = new Worker(WORKER_URL, { workerData: { path, intervalMs, resolveFrom: import.meta.url } });
  worker.unref();
  let stopped: Promise<void> | null = null;
  worker.on('error', () => undefined); // the backstop keeps the log bounded; closing the store checkpoints anyway
  return {
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        const done = () => resolve();
        worker.once('exit', done);
        worker.once('message', (m) => {
          if (m === 'stopped') void worker.terminate().then(done, done);
        });
        worker.postMessage('stop');
        setTimeout(() => void worker.terminate().then(done, done), 2_000).unref();
      });
      return stopped;
    },
  };
}
