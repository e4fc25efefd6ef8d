/**
 * Bounds on one CSV record, so that an upload cannot make the node buffer a record of any size: csv-parse holds each
 * record whole before it hands it on, and one enormous line (or a line of nothing but commas) would otherwise be
 * buffered entirely.
 *
 *  - `MAX_RECORD_CHARS` is given to csv-parse as `max_record_size`: it counts the characters of a record's values
 *    (not its delimiters) and fails with CSV_MAX_RECORD_SIZE as soon as the count passes the limit.
 *  - `MAX_COLUMNS` is enforced by `columnGuard`, a pass-through stream in front of the parser that counts the fields of
 *    each record as the bytes go by (csv-parse has no such option, and its per-field `cast` hook costs 15x the parse):
 *    empty fields cost csv-parse no characters, so without it a line of commas would be unbounded.
 * Together they bound what one record can hold. Violations become ACCORD_DATASET_ROW_INVALID with the 1-based line on
 * which the offending record starts.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { AccordError } from '../../primitives/errors/index.js';

/** Most characters of values one record may hold (1 MiB); csv-parse's `max_record_size`. */
export const MAX_RECORD_CHARS = 1_048_576;
/** Most columns a dataset may have, so most fields one record may hold. */
export const MAX_COLUMNS = 2_000;

/** `1048576` as `1 048 576`, for problem texts. */
export function groupDigits(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
}

/** The coded error for a record over either limit. */
export function recordTooLarge(line: number, what: 'chars' | 'columns'): AccordError {
  return new AccordError('ACCORD_DATASET_ROW_INVALID', {
    line,
    column: '(row)',
    problem:
      what === 'chars'
        ? `the row is longer than ${groupDigits(MAX_RECORD_CHARS)} characters`
        : `the row has more than ${groupDigits(MAX_COLUMNS)} columns`,
  });
}

const QUOTE = 0x22;
const COMMA = 0x2c;
const LF = 0x0a;
const CR = 0x0d;

/**
 * Passes bytes through unchanged while counting the fields of each record the way csv-parse splits them (default
 * dialect: `,` delimiter, `"` quote and escape, records ended by LF, CRLF or CR outside quotes; a doubled quote
 * toggles twice, so quote parity tells whether a byte is inside a quoted value). Fails with `recordTooLarge` on the
 * first record with more than `maxColumns` fields, naming the physical line the record starts on (lines counted as
 * csv-parse counts them: CRLF is one line break). Input csv-parse would refuse anyway (a quote inside an unquoted
 * value) may be split differently here; csv-parse still refuses it.
 */
export function columnGuard(maxColumns = MAX_COLUMNS): Transform {
  let quoted = false;
  let fields = 1;
  let line = 1;
  let recordLine = 1;
  let atRecordStart = true;
  let previous = -1;
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      for (let i = 0; i < chunk.length; i++) {
        const byte = chunk[i]!;
        const lineBreak = byte === CR || (byte === LF && previous !== CR);
        previous = byte;
        if (atRecordStart && byte !== CR && byte !== LF) {
          atRecordStart = false;
          recordLine = line;
        }
        if (lineBreak) line++;
        if (byte === QUOTE) quoted = !quoted;
        else if (quoted) continue;
        else if (byte === COMMA) {
          if (++fields > maxColumns) {
            callback(recordTooLarge(recordLine, 'columns'));
            return;
          }
        } else if (byte === CR || byte === LF) {
          fields = 1;
          atRecordStart = true;
        }
      }
      callback(null, chunk);
    },
  });
}
