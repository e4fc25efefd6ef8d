// The body of a store's checkpointer thread (see checkpointer.ts): its own connection to the database, which copies
// the write-ahead log into the database file every `intervalMs` (PASSIVE: it never blocks the process's readers or
// writer), so that the copy and its fsync never stall the process's event loop. Plain JavaScript: it needs no loader.
import { createRequire } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';

const require = createRequire(workerData.resolveFrom);
const Database = require('better-sqlite3');
const db = new Database(workerData.path);
db.pragma('busy_timeout = 1000');
db.pragma(`journal_size_limit = ${workerData.journalSizeLimit}`);
const checkpoint = () => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // Busy or closing: the next tick tries again; the process's own backstop bounds the log meanwhile.
  }
};
const timer = setInterval(checkpoint, workerData.intervalMs);
parentPort.on('message', (message) => {
  if (message !== 'stop') return;
  clearInterval(timer);
  checkpoint();
  db.close();
  parentPort.postMessage('stopped');
});
parentPort.postMessage('ready');
