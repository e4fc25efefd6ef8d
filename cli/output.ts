import { AccordError } from '../primitives/errors/index.js';

/** Prints a coded error the same way for every command and returns the exit code. */
export function reportError(err: unknown): number {
  if (err instanceof AccordError) {
    process.stderr.write(`error ${err.code}: ${err.message}\n  hint: ${err.hint}\n`);
    return err.code === 'ACCORD_USAGE' || err.code.startsWith('ACCORD_CONFIG') ? 2 : 1;
  }
  process.stderr.write(`error ACCORD_INTERNAL: ${(err as Error)?.stack ?? String(err)}\n`);
  return 1;
}

/** One machine-readable line on stdout, for supervisors and the demo (`{"event":"ready",...}`). */
export function emitEvent(event: string, fields: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`);
}
