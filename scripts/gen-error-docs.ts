/** Writes docs/errors.md from the registry (`npm run docs:errors`); a test fails when the two drift. */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderErrorDocs } from '../primitives/errors/docs.js';

writeFileSync(fileURLToPath(new URL('../docs/errors.md', import.meta.url)), renderErrorDocs());
