// Starts a histogram worker thread (histogram-pool.ts) with the TypeScript loader the node itself runs under: a
// worker does not inherit a loader registered through tsx's API (bin/accord.js), so it registers its own.
import { register } from 'tsx/esm/api';

register();
await import('./histogram-worker.ts');
