/**
 * Times in consent records (granted, expiry): an ISO-8601 date (`YYYY-MM-DD`, read as midnight UTC) or a date and
 * time with its zone (`Z` or an offset such as `+02:00`). A time without a zone is refused: read in the node's local
 * zone it would move a consent's expiry by the server's setting, and two nodes would disagree on it. Dates must be
 * real calendar dates (no 30 February) and times real times of day.
 */
import { dateKey } from './age.js';

/** What the accepted forms look like (the REST schemas use it; `parseConsentTime` checks the values too). */
export const CONSENT_TIME_PATTERN =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-](\d{2}):?(\d{2})))?$/;

export const CONSENT_TIME_FORMS =
  'an ISO date (YYYY-MM-DD, read as UTC) or a date and time with its zone (e.g. 2026-03-31T18:00:00Z or +02:00)';

/** Milliseconds since the epoch of a consent time, or null if `text` is not one of the accepted forms. */
export function parseConsentTime(text: string): number | null {
  const m = CONSENT_TIME_PATTERN.exec(text);
  if (!m) return null;
  if (dateKey(Number(m[1]), Number(m[2]), Number(m[3])) === null) return null;
  if (m[4] !== undefined) {
    if (Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6] ?? 0) > 59) return null;
    if (m[8] !== undefined && (Number(m[8]) > 23 || Number(m[9]) > 59)) return null;
  }
  const ms = Date.parse(m[4] === undefined ? `${text}T00:00:00Z` : text);
  return Number.isFinite(ms) ? ms : null;
}
