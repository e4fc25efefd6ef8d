/**
 * Every form a customer identifier (or a number such as a feature value, label or score) could take on the wire,
 * for privacy tests that search records of what crossed it (`test/helpers/wire-record.ts`).
 *
 * Why: a privacy test that searches only for the normalised identifier is fooled by a leak of the identifier as it
 * was imported ("+86 138 0013 8000", spaces and all), in upper case, as hex bytes, or inside a base64 blob. So the
 * test does not choose forms: it asks here for all of them.
 *
 * How a form is built: first the *texts* of an identifier (as imported, trimmed, normalised, digits only, ..., each
 * also in lower and upper case), then every *encoding* of each text (itself, JSON-escaped, URL-encoded, hex of its
 * UTF-8 in both cases, base64 and base64url at the three byte alignments, UTF-16 hex).
 *
 * The length rule: every form is at least MIN_FORM_LENGTH (6) characters long, and so is every text before it is
 * encoded; no form is one character repeated ("000000", "AAAAAAAA"). Shorter fragments, and the runs of one
 * character that zero padding produces, turn up by chance in a large record of random-looking bytes and would make
 * tests fail for nothing; checking texts too keeps out e.g. the 6 hex digits of a 3-character text. Length is
 * counted in UTF-8 bytes: the same as characters for every encoded form (all ASCII) and for ASCII texts, while a
 * 3-character Chinese name (9 bytes, specific enough) is kept. An identifier form that passes carries at least 42 bits (7 base64
 * characters) or 48 bits (12 hex digits, or 6 bytes of text), so a chance hit stays rare even in a record
 * of megabytes; give tests identifiers and numbers long and distinctive enough for their forms to pass the rule.
 */
import { type IdKind, normaliseId } from '../../primitives/identity/normalise.js';

export type { IdKind };

/** Shortest form returned (see the length rule above). */
export const MIN_FORM_LENGTH = 6;

/** Kinds whose digits alone still name the customer (a phone or an id typed with or without separators). */
const DIGIT_KINDS: ReadonlySet<IdKind> = new Set(['phone', 'national_id', 'account', 'customer_id']);

function longEnough(s: string): boolean {
  return Buffer.byteLength(s, 'utf8') >= MIN_FORM_LENGTH;
}

function keep(form: string, min = MIN_FORM_LENGTH): boolean {
  if (Buffer.byteLength(form, 'utf8') < min) return false;
  // One character repeated: what padding and zeroed buffers look like, not an identifier.
  return !/^(.)\1*$/su.test(form);
}

const toUrl = (b64: string) => b64.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

/**
 * The base64 characters that encode `bytes` wherever they sit in a larger base64 blob, one string per alignment.
 *
 * Base64 turns each 3 bytes into 4 characters, so the characters that carry `bytes` depend on how many bytes precede
 * them in their 3-byte group (the alignment a = offset mod 3). For each a, encode a zero bytes followed by `bytes`,
 * then drop the characters that also carry bits of the a padding bytes (at the start) or of whatever follows
 * `bytes` in the blob (at the end): character i carries bits [6i, 6i + 6), and only those entirely within
 * `bytes`' bits [8a, 8a + 8n) are kept. Returned in order a = 0, 1, 2.
 */
export function base64Cores(bytes: Uint8Array): string[] {
  const cores: string[] = [];
  for (let a = 0; a < 3; a++) {
    const padded = Buffer.concat([Buffer.alloc(a), Buffer.from(bytes)]);
    const first = Math.ceil((8 * a) / 6);
    const end = Math.floor((8 * (a + bytes.length)) / 6);
    cores.push(padded.toString('base64').slice(first, end));
  }
  return cores;
}

/**
 * Every encoding of some bytes as text: hex (both cases), base64 and base64url alone (padded, unpadded) and as the
 * cores at the three alignments (see base64Cores). Not filtered by the length rule.
 */
export function byteEncodings(bytes: Uint8Array): string[] {
  const b = Buffer.from(bytes);
  const hex = b.toString('hex');
  const alone = b.toString('base64');
  const cores = base64Cores(b);
  return [hex, hex.toUpperCase(), alone, toUrl(alone), ...cores, ...cores.map(toUrl)];
}

/** A text and every encoding of it (see the module comment). Not filtered by the length rule. */
function textEncodings(text: string): string[] {
  const le = Buffer.from(text, 'utf16le');
  const be = Buffer.from(le).swap16();
  return [
    text,
    // As it appears inside a JSON string (quotes, backslashes and controls escaped), e.g. in the record itself,
    // and as ASCII-only encoders write it (every non-ASCII UTF-16 unit as \uXXXX).
    JSON.stringify(text).slice(1, -1),
    JSON.stringify(text)
      .slice(1, -1)
      .replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`),
    // As it appears in a URL or a percent-encoded header (gRPC sends status details percent-encoded).
    encodeURIComponent(text),
    ...byteEncodings(Buffer.from(text, 'utf8')),
    le.toString('hex'),
    le.toString('hex').toUpperCase(),
    be.toString('hex'),
    be.toString('hex').toUpperCase(),
  ];
}

/**
 * The texts an identifier could be written as before any encoding:
 * - as imported (`raw`, e.g. "+86 138 0013 8000"), trimmed, and NFKC-folded (full-width digits typed in East Asia);
 * - normalised (`normaliseId(kind, raw)`, skipped if `raw` is invalid), and for a phone without its leading '+';
 * - digits only (phones and ids: the number typed without separators or prefix);
 * - for a phone, the international form with "00" instead of "+", and the national number with each possible
 *   country-code length (1 to 3 digits) dropped, bare and with a trunk '0' ("+44 7700 900123" -> "7700900123",
 *   "07700900123"), since a national number alone still names the customer;
 * - for an email, the local part alone;
 * - each of these in lower case and in upper case.
 */
export function identifierTexts(kind: IdKind, raw: string): string[] {
  const texts = new Set<string>([raw, raw.trim(), raw.normalize('NFKC'), raw.normalize('NFKC').trim()]);
  let normalised: string | null = null;
  try {
    normalised = normaliseId(kind, raw);
  } catch {
    // An invalid identifier is still customer data as imported: its other forms are searched all the same.
  }
  if (normalised !== null) {
    texts.add(normalised);
    if (normalised.startsWith('+')) texts.add(normalised.slice(1));
  }
  if (DIGIT_KINDS.has(kind)) texts.add(raw.normalize('NFKC').replace(/\D/g, ''));
  if (kind === 'phone' && normalised !== null) {
    const international = normalised.slice(1);
    texts.add(`00${international}`);
    for (let cc = 1; cc <= 3; cc++) {
      const national = international.slice(cc);
      texts.add(national);
      texts.add(`0${national}`);
    }
  }
  if (kind === 'email') {
    const s = normalised ?? raw.trim();
    const at = s.lastIndexOf('@');
    if (at > 0) texts.add(s.slice(0, at));
    const r = raw.trim();
    if (r.lastIndexOf('@') > 0) texts.add(r.slice(0, r.lastIndexOf('@')));
  }
  for (const t of [...texts]) {
    texts.add(t.toLowerCase());
    texts.add(t.toUpperCase());
  }
  return [...texts];
}

/**
 * Every form the identifier `raw` of `kind` could travel in: each of identifierTexts(kind, raw) and each encoding
 * of it (itself, JSON-escaped, URL-encoded, hex of its UTF-8 in lower and upper case, base64 and base64url alone
 * and at the three alignments, UTF-16LE and UTF-16BE hex in both cases). Deduplicated; texts and forms shorter than
 * MIN_FORM_LENGTH, and forms of one repeated character, are left out (the length rule above).
 */
export function identifierForms(kind: IdKind, raw: string): string[] {
  const forms = new Set<string>();
  for (const text of identifierTexts(kind, raw)) {
    if (!longEnough(text)) continue;
    for (const f of textEncodings(text)) if (keep(f)) forms.add(f);
  }
  return [...forms];
}

/** The forms of every identifier in `ids` (pairs of kind and value as imported), in one deduplicated list. */
export function formsOfIdentifiers(ids: Iterable<readonly [IdKind, string]>): string[] {
  const forms = new Set<string>();
  for (const [kind, raw] of ids) for (const f of identifierForms(kind, raw)) forms.add(f);
  return [...forms];
}

/** Scales at which fixed-point encodings (MPC shares, quantised features) usually carry a real number. */
export const FIXED_POINT_SCALES: readonly number[] = [2 ** 16, 2 ** 20, 2 ** 24, 2 ** 32, 1e6];

function int64Hex(v: bigint): string[] {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt.asUintN(64, v));
  const be = b.toString('hex');
  const le = Buffer.from(b).reverse().toString('hex');
  const out = [be, le, be.toUpperCase(), le.toUpperCase()];
  // Values that fit 32 bits are often sent in 4 bytes; the 8-byte forms would not find those.
  if (v >= -(2n ** 31n) && v < 2n ** 32n) {
    const b4 = Buffer.alloc(4);
    b4.writeUInt32BE(Number(BigInt.asUintN(32, v)));
    const be4 = b4.toString('hex');
    const le4 = Buffer.from(b4).reverse().toString('hex');
    out.push(be4, le4, be4.toUpperCase(), le4.toUpperCase());
  }
  return out;
}

/**
 * Every form a number (feature value, label, score) could travel in:
 * - decimal text: String(x), toFixed(1..8), toPrecision(6..17), toExponential(2..8) and the float32 value as text;
 * - fixed-point integers round(x·s), trunc(x·s) and floor(x·s) for each s in FIXED_POINT_SCALES (2^16, 2^20, 2^24,
 *   2^32, 10^6), as decimal text and as 8-byte (and, if they fit, 4-byte) two's-complement hex, little- and
 *   big-endian, both cases;
 * - the float64 and float32 bytes, little- and big-endian, as hex (both cases) and base64/base64url (alone and at
 *   the three alignments).
 * Deduplicated and under the same length rule as identifierForms (except the 5-character base64 cores of float32
 * bytes; see below): a short or very round number (0, 1, 0.5) has few forms left and those are unspecific, and
 * a 6-digit decimal form carries only 20 bits; search for distinctive values (e.g. 0.7312345) instead.
 */
export function numberForms(x: number): string[] {
  const forms = new Set<string>();
  const add = (f: string, min = MIN_FORM_LENGTH) => {
    if (keep(f, min)) forms.add(f);
  };
  add(String(x));
  if (Number.isFinite(x)) {
    for (let p = 1; p <= 8; p++) {
      add(x.toFixed(p));
      add(String(Number(x.toFixed(p))));
    }
    for (let p = 6; p <= 17; p++) add(x.toPrecision(p));
    for (let p = 2; p <= 8; p++) add(x.toExponential(p));
    add(String(Math.fround(x)));
    for (const scale of FIXED_POINT_SCALES) {
      const scaled = x * scale;
      if (!Number.isFinite(scaled) || Math.abs(scaled) >= 2 ** 63) continue;
      for (const v of new Set([Math.round(scaled), Math.trunc(scaled), Math.floor(scaled)])) {
        const big = BigInt(v);
        add(big.toString());
        for (const f of int64Hex(big)) add(f);
      }
    }
  }
  const f64 = Buffer.alloc(8);
  f64.writeDoubleBE(x);
  const f32 = Buffer.alloc(4);
  f32.writeFloatBE(x);
  for (const bytes of [f64, Buffer.from(f64).reverse()]) for (const f of byteEncodings(bytes)) add(f);
  // 4 bytes inside a base64 blob leave cores of 5, 4 and 5 characters at alignments 0, 1 and 2. The 5-character
  // ones (30 bits) are kept, or float32 values there would go unseen (a chance hit needs about a gigabyte of
  // base64); the 4-character one (24 bits) would hit by chance every few hundred kilobytes, so a float32 at
  // alignment 1 of a base64 blob is the one encoding these forms cannot see (its hex and standalone base64 they do).
  for (const bytes of [f32, Buffer.from(f32).reverse()]) for (const f of byteEncodings(bytes)) add(f, 5);
  return [...forms];
}

/**
 * Forms of a number distinctive enough not to turn up by chance in megabytes of random-looking bytes: text forms of
 * 8 characters or more, and 8-byte hex forms whose bytes are not mostly padding (the 64-bit fixed-point form of a
 * small value is 2 bytes of value and 6 of zeros or ones, which random bytes match every few hundred kilobytes).
 * The fixed-point forms left out are what an unmasked vector or an unencrypted value would carry: a test finds
 * those by the structure of what travels (uniform masked vectors, sealed boxes, ciphertexts of a named parameter set).
 */
export function distinctiveForms(x: number): string[] {
  return numberForms(x).filter((f) =>
    /^[0-9a-fA-F]+$/.test(f) ? f.length >= 16 && !/^(0000|ffff)|(0000|ffff)$/i.test(f) : f.length >= 8,
  );
}
