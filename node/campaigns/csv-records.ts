/**
 * Streams the records of a small-schema CSV upload (consent, do-not-contact) as header-keyed objects with their line
 * numbers, under the same record bounds as dataset imports (platform/csv/record-limits.ts). Malformed CSV and rows
 * without a required column become ACCORD_CONSENT_ROW_INVALID / ACCORD_CONSENT_HEADER_INVALID naming the line, never
 * echoing a value.
 */
import type { Readable } from 'node:stream';
import { CsvError, parse } from 'csv-parse';
import { columnGuard, MAX_RECORD_CHARS } from '../../platform/csv/record-limits.js';
import { AccordError } from '../../primitives/errors/index.js';

export interface CsvRecord {
  /** 1-based line of the record in the upload. */
  readonly line: number;
  readonly values: Readonly<Record<string, string>>;
}

/**
 * Yields each data record of `body`; the header must name every column of `required` (others of `optional` are
 * kept, anything else is ignored). On any failure the rest of the upload is drained so the client gets the answer.
 */
export async function* csvRecords(
  body: Readable,
  required: readonly string[],
  optional: readonly string[] = [],
): AsyncGenerator<CsvRecord> {
  const guard = columnGuard();
  const parser = parse({
    bom: true,
    info: true,
    skip_empty_lines: true,
    relax_column_count: false,
    max_record_size: MAX_RECORD_CHARS,
  });
  guard.on('error', (err) => parser.destroy(err));
  body.pipe(guard).pipe(parser);
  let header: string[] | null = null;
  let wanted: { name: string; at: number }[] = [];
  let completed = false;
  try {
    for await (const { record, info } of parser as AsyncIterable<{
      record: string[];
      info: { lines: number };
    }>) {
      if (header === null) {
        header = record.map((h) => h.trim());
        const missing = required.filter((c) => !header!.includes(c));
        if (missing.length)
          throw new AccordError('ACCORD_CONSENT_HEADER_INVALID', {
            problem: `missing column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`,
          });
        wanted = [...required, ...optional.filter((c) => header!.includes(c))].map((name) => ({
          name,
          at: header!.indexOf(name),
        }));
        continue;
      }
      const values: Record<string, string> = {};
      for (const { name, at } of wanted) values[name] = (record[at] ?? '').trim();
      yield { line: info.lines, values };
    }
    if (header === null)
      throw new AccordError('ACCORD_CONSENT_HEADER_INVALID', { problem: 'the upload is empty' });
    completed = true;
  } catch (err) {
    if (err instanceof CsvError) {
      const line = (err as CsvError & { lines?: number }).lines ?? 0;
      throw new AccordError('ACCORD_CONSENT_ROW_INVALID', {
        line,
        column: '(row)',
        problem: `malformed CSV (${err.code})`,
      });
    }
    if (err instanceof AccordError && err.code === 'ACCORD_DATASET_ROW_INVALID')
      throw new AccordError('ACCORD_CONSENT_ROW_INVALID', {
        line: err.params.line ?? 0,
        column: '(row)',
        problem: String(err.params.problem ?? 'too large'),
      });
    throw err;
  } finally {
    // Stopped early (a bad record here or in the caller): drain the rest so the client gets the answer.
    if (!completed) {
      body.unpipe(guard);
      guard.destroy();
      body.resume();
    }
  }
}
