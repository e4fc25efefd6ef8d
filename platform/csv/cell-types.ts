/**
 * Parsing one CSV cell as its declared type. Problems are described without echoing the value: a cell may hold an
 * identifier or a feature value, and error messages travel to logs and clients.
 */
import type { Cell, ColumnDef } from '../store/types.js';

const INTEGER = /^[+-]?\d+$/;
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const DATE = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
const MAX_STRING = 4096;

export type CellResult = { ok: true; value: Cell } | { ok: false; problem: string };

export function parseCell(column: ColumnDef, raw: string): CellResult {
  const text = raw.trim();
  if (text === '')
    return column.nullable
      ? { ok: true, value: null }
      : { ok: false, problem: 'empty value in a required column' };
  switch (column.type) {
    case 'string':
      return text.length <= MAX_STRING
        ? { ok: true, value: text }
        : { ok: false, problem: `longer than ${MAX_STRING} characters` };
    case 'integer': {
      const n = Number(text);
      return INTEGER.test(text) && Number.isSafeInteger(n)
        ? { ok: true, value: n }
        : { ok: false, problem: 'expected an integer' };
    }
    case 'number': {
      const n = Number(text);
      return NUMBER.test(text) && Number.isFinite(n)
        ? { ok: true, value: n }
        : { ok: false, problem: 'expected a number' };
    }
    case 'boolean': {
      const t = text.toLowerCase();
      if (t === 'true' || t === '1') return { ok: true, value: true };
      if (t === 'false' || t === '0') return { ok: true, value: false };
      return { ok: false, problem: 'expected true, false, 1 or 0' };
    }
    case 'date':
      return DATE.test(text) && !Number.isNaN(Date.parse(text))
        ? { ok: true, value: text }
        : { ok: false, problem: 'expected an ISO-8601 date (YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ)' };
  }
}
