import { defineErrors } from './define.js';

/** Fraud-signal sharing errors (`ACCORD_SIGNAL_*`, `ACCORD_OPRF_*`). */
export const signalErrors = defineErrors({});
