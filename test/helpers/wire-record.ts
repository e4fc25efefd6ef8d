/**
 * Reads the record the wire recorder (platform/grpc/wire-recorder.ts, `ACCORD_WIRE_RECORD`) writes, and searches
 * it, or any other text (database files, audit exports), for needles such as the forms from
 * test/helpers/identifier-forms.ts.
 *
 * Why: privacy tests once searched only request bodies for a few forms of an identifier and passed over leaks in
 * metadata, answers and other encodings. Here the whole text is searched, every direction and event alike, and so
 * are the bytes behind every hex string in it (the recorder writes bytes as hex; what they hold may itself be text,
 * base64 or JSON carrying an identifier). A finding names the event it was in and shows its surroundings, so that
 * a failing test says where the leak is.
 *
 * The search is one pass over the text whatever the number of needles (a rolling hash of each needle's first
 * MIN_FORM_LENGTH characters), so thousands of identifiers times their forms can be searched in a large record.
 *
 * One rule keeps chance hits out of records made mostly of hex (every byte the recorder writes): a short needle
 * (under SHORT_IN_HEX characters) made only of hex digits, such as a 9-digit national phone number, counts inside
 * a longer run of hex digits only if it is itself a hex encoding there (even length, at a byte boundary of the
 * run). Otherwise thousands of phone numbers' digit forms would turn up by chance in megabytes of hex: a specific
 * 9-digit string is only 36 bits of hex. Such a needle still counts anywhere else ("id":"910025530", a JSON
 * number, text), hex encodings of text (12+ hex digits, byte-aligned) are found as before, and needles of 16
 * characters or more count wherever they are.
 */
import { existsSync, readFileSync } from 'node:fs';
import { expect } from 'vitest';
import type { WireEvent } from '../../platform/grpc/wire-recorder.js';
import { MIN_FORM_LENGTH } from './identifier-forms.js';

export type { WireEvent };

/** The event (a line of the record) a needle was found in; null for text that is not a wire record. */
export interface LeakEvent {
  readonly method: string;
  readonly dir: string;
  readonly event: string;
  readonly line: number;
}

export interface Leak {
  readonly needle: string;
  /** A few dozen characters around the first hit (non-printable characters shown as '·'). */
  readonly context: string;
  /** Human-readable: the event, and whether the hit was in the text itself or in bytes written as hex. */
  readonly where: string;
  readonly event: LeakEvent | null;
  /** True if the needle was found in the bytes behind a hex string rather than in the text itself. */
  readonly inBytes: boolean;
}

/** The record's text; throws if the file does not exist (the processes were not recording). */
export function readWireRecord(file: string): string {
  if (!existsSync(file))
    throw new Error(`no wire record at ${file}: was ACCORD_WIRE_RECORD given to the processes?`);
  return readFileSync(file, 'utf8');
}

/** The record's events, one per non-empty line. */
export function parseWireRecord(text: string): WireEvent[] {
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as WireEvent);
}

const K = MIN_FORM_LENGTH;
const BASE = 31;
/** Needles shorter than this, made only of hex digits, are held to byte boundaries inside hex runs (see above). */
export const SHORT_IN_HEX = 16;
const HEX_ONLY = /^[0-9a-fA-F]+$/;

function isHexDigit(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

/** Whether a hit of `needle` at `at` counts (the hex-run rule in the module comment). */
function counts(text: string, at: number, needle: string): boolean {
  if (needle.length >= SHORT_IN_HEX || !HEX_ONLY.test(needle)) return true;
  const end = at + needle.length;
  const before = at > 0 && isHexDigit(text.charCodeAt(at - 1));
  const after = end < text.length && isHexDigit(text.charCodeAt(end));
  if (!before && !after) return true;
  if (needle.length % 2 !== 0) return false;
  let start = at;
  while (start > 0 && isHexDigit(text.charCodeAt(start - 1))) start--;
  return (at - start) % 2 === 0;
}

function hashAt(s: string, from: number): number {
  let h = 0;
  for (let i = 0; i < K; i++) h = (Math.imul(h, BASE) + s.charCodeAt(from + i)) | 0;
  return h;
}

/** The first index at which each needle counts in `text` (under K characters by indexOf, the rest in one pass). */
function firstHits(text: string, needles: readonly string[]): Map<string, number> {
  const found = new Map<string, number>();
  const buckets = new Map<number, string[]>();
  let remaining = 0;
  for (const n of needles) {
    if (n.length < K) {
      let i = text.indexOf(n);
      while (i >= 0 && !counts(text, i, n)) i = text.indexOf(n, i + 1);
      if (i >= 0) found.set(n, i);
      continue;
    }
    const h = hashAt(n, 0);
    const bucket = buckets.get(h);
    if (bucket) bucket.push(n);
    else buckets.set(h, [n]);
    remaining++;
  }
  if (remaining === 0 || text.length < K) return found;
  let top = 1; // BASE^(K-1), to drop the leaving character from the rolling hash
  for (let i = 0; i < K - 1; i++) top = Math.imul(top, BASE);
  let h = hashAt(text, 0);
  for (let i = 0; ; i++) {
    const bucket = buckets.get(h);
    if (bucket) {
      for (let j = bucket.length - 1; j >= 0; j--) {
        const n = bucket[j]!;
        if (text.startsWith(n, i) && counts(text, i, n)) {
          found.set(n, i);
          bucket.splice(j, 1);
          remaining--;
        }
      }
      if (bucket.length === 0) buckets.delete(h);
      if (remaining === 0) break;
    }
    if (i + K >= text.length) break;
    h = (Math.imul(h - Math.imul(text.charCodeAt(i), top), BASE) + text.charCodeAt(i + K)) | 0;
  }
  return found;
}

/** JSON string values made only of lower-case hex byte pairs (at least K bytes): what the recorder made of bytes. */
const HEX_STRING = /"((?:[0-9a-f]{2}){6,})"/g;

interface BytesView {
  /** Every hex string's bytes as UTF-8, joined with NUL (so no needle spans two of them). */
  readonly text: string;
  /** For each piece: where it starts in `text` and where its hex string starts in the record. */
  readonly starts: number[];
  readonly origins: number[];
}

function bytesView(record: string): BytesView {
  const parts: string[] = [];
  const starts: number[] = [];
  const origins: number[] = [];
  let offset = 0;
  for (const m of record.matchAll(HEX_STRING)) {
    const decoded = Buffer.from(m[1]!, 'hex').toString('utf8');
    starts.push(offset);
    origins.push(m.index + 1);
    parts.push(decoded);
    offset += decoded.length + 1;
  }
  return { text: parts.join('\u0000'), starts, origins };
}

/** The piece of the bytes view holding `at`: its bounds in the view and where its hex string is in the record. */
function pieceOf(view: BytesView, at: number): { start: number; end: number; origin: number } {
  let lo = 0;
  let hi = view.starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (view.starts[mid]! <= at) lo = mid;
    else hi = mid - 1;
  }
  const end = lo + 1 < view.starts.length ? view.starts[lo + 1]! - 1 : view.text.length;
  return { start: view.starts[lo]!, end, origin: view.origins[lo]! };
}

/** Up to 40 characters either side of a hit, within [min, max). */
function contextAround(text: string, at: number, length: number, min = 0, max = text.length): string {
  const from = Math.max(min, at - 40);
  const to = Math.min(max, at + length + 40);
  const printable = text.slice(from, to).replace(/[\p{Cc}\p{Cs}\uFFFD]/gu, '·');
  return `${from > min ? '…' : ''}${printable}${to < max ? '…' : ''}`;
}

function eventAt(text: string, at: number, lineStarts: () => number[]): LeakEvent | null {
  const start = text.lastIndexOf('\n', at - 1) + 1;
  const endAt = text.indexOf('\n', at);
  const line = text.slice(start, endAt < 0 ? text.length : endAt);
  try {
    const parsed = JSON.parse(line) as Partial<WireEvent>;
    if (
      typeof parsed.method !== 'string' ||
      typeof parsed.dir !== 'string' ||
      typeof parsed.event !== 'string'
    )
      return null;
    const starts = lineStarts();
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= start) lo = mid;
      else hi = mid - 1;
    }
    return { method: parsed.method, dir: parsed.dir, event: parsed.event, line: lo + 1 };
  } catch {
    return null;
  }
}

/**
 * Every needle found in `recordText` or in the bytes behind its hex strings, with the first hit's surroundings
 * and the event it was in. Empty needles are ignored; each needle is reported once.
 */
export function findLeaks(recordText: string, needles: Iterable<string>): Leak[] {
  const list = [...new Set(needles)].filter((n) => n.length > 0);
  let starts: number[] | null = null;
  const lineStarts = () => {
    if (!starts) {
      starts = [0];
      for (let i = recordText.indexOf('\n'); i >= 0; i = recordText.indexOf('\n', i + 1)) starts.push(i + 1);
    }
    return starts;
  };
  const describe = (event: LeakEvent | null, at: number) =>
    event ? `${event.method} ${event.dir} ${event.event} (line ${event.line})` : `offset ${at}`;

  const leaks: Leak[] = [];
  const inText = firstHits(recordText, list);
  for (const [needle, at] of inText) {
    const event = eventAt(recordText, at, lineStarts);
    leaks.push({
      needle,
      context: contextAround(recordText, at, needle.length),
      where: describe(event, at),
      event,
      inBytes: false,
    });
  }
  const rest = list.filter((n) => !inText.has(n));
  if (rest.length > 0) {
    const view = bytesView(recordText);
    for (const [needle, at] of firstHits(view.text, rest)) {
      const { start, end, origin } = pieceOf(view, at);
      const event = eventAt(recordText, origin, lineStarts);
      leaks.push({
        needle,
        context: contextAround(view.text, at, needle.length, start, end),
        where: `bytes (hex at offset ${origin}) in ${describe(event, origin)}`,
        event,
        inBytes: true,
      });
    }
  }
  return leaks;
}

/** One line per leak, for failure messages. */
export function describeLeaks(leaks: readonly Leak[], max = 25): string[] {
  const lines = leaks.slice(0, max).map((l) => `${JSON.stringify(l.needle)} in ${l.where}: ${l.context}`);
  if (leaks.length > max) lines.push(`… and ${leaks.length - max} more`);
  return lines;
}

/** Fails the current vitest test, listing each leak and where it is, if any needle is found in `recordText`. */
export function expectNoLeaks(recordText: string, needles: Iterable<string>, what = 'the wire record'): void {
  const leaks = findLeaks(recordText, needles);
  expect(describeLeaks(leaks), `${what} holds ${leaks.length} form(s) of identifiers`).toEqual([]);
}

/**
 * Every message the nodes sent to `service` (`/accord.v1.<service>/`), inbox subscriptions left out, one JSON line
 * each: what a privacy test searches for what must not leave a bank.
 */
export function sentByNodes(records: readonly string[], service: string): string {
  const lines: string[] = [];
  for (const record of records)
    for (const e of parseWireRecord(record))
      if (
        e.method?.startsWith(`/accord.v1.${service}/`) &&
        e.method !== `/accord.v1.${service}/Subscribe` &&
        e.dir === 'out'
      )
        lines.push(JSON.stringify(e));
  return lines.join('\n');
}
