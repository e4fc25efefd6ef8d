import { defineErrors } from './define.js';

/** Private set intersection errors (`ACCORD_PSI_*`). */
export const psiErrors = defineErrors({});
