// Entry of PSI worker threads when running from TypeScript sources. Node 20 does not apply the parent's
// `--import tsx` loader hooks inside worker threads, so the worker registers tsx itself before loading the TS file.
// `tsx/esm/api` is resolved from this file, so it works whatever the working directory.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
