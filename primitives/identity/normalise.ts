/**
 * Canonical forms of customer identifiers.
 *
 * Two banks find a shared customer only if both turn the same person's identifier into the very same string before
 * hashing it to the curve, so every rule here is part of the protocol: changing one silently shrinks every
 * intersection computed against a partner that still uses the old rule.
 *
 * Errors never carry the value (it is customer data); they say which rule failed.
 */
import { AccordError } from '../errors/index.js';

export const ID_KINDS = ['phone', 'national_id', 'email', 'account', 'customer_id', 'text'] as const;
export type IdKind = (typeof ID_KINDS)[number];

const KIND_SET: ReadonlySet<string> = new Set(ID_KINDS);

export function isIdKind(s: unknown): s is IdKind {
  return typeof s === 'string' && KIND_SET.has(s);
}

function invalid(kind: IdKind, reason: string): AccordError {
  return new AccordError('ACCORD_ID_INVALID', { kind, reason });
}

// Code points, not UTF-16 units, so that a limit means the same thing to a partner in another language.
function codePointLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

// NFKC first so that full-width digits and letters typed on East Asian keyboards count as ASCII.
const PHONE_SEPARATORS = /[\s.\-()]/g;
const E164_DIGITS = /^[1-9]\d{7,14}$/;

function phone(raw: string): string {
  const s = raw.normalize('NFKC').replace(PHONE_SEPARATORS, '');
  if (s.length === 0) throw invalid('phone', 'empty');
  let digits: string;
  if (s.startsWith('+')) digits = s.slice(1);
  else if (s.startsWith('00')) digits = s.slice(2);
  else if (/^\d+$/.test(s)) throw invalid('phone', 'no international prefix (+ or 00 and a country code)');
  else throw invalid('phone', 'contains characters other than digits and separators');
  if (!/^\d*$/.test(digits)) throw invalid('phone', 'contains characters other than digits and separators');
  if (digits.startsWith('0')) throw invalid('phone', 'country code cannot start with 0');
  if (!E164_DIGITS.test(digits))
    throw invalid('phone', 'must have 8 to 15 digits including the country code');
  return `+${digits}`;
}

function alnum(kind: IdKind, raw: string, min: number, max: number): string {
  const s = raw.normalize('NFKC').toUpperCase().replace(/[\s-]/g, '');
  if (s.length === 0) throw invalid(kind, 'empty');
  if (!/^[A-Z0-9]+$/.test(s)) throw invalid(kind, 'only letters A-Z and digits are allowed');
  if (s.length < min || s.length > max) throw invalid(kind, `must have ${min} to ${max} letters or digits`);
  return s;
}

// Deliberately ASCII-only and modest: a syntactic sanity check, not RFC 5322.
const EMAIL =
  /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])$/;

function email(raw: string): string {
  // Plus-tags and dots are kept: whether `a.b+x@` and `ab@` reach the same mailbox is a rule of one provider
  // (Gmail), not of email, and guessing it would merge different customers of other providers.
  // Lower-casing the local part is technically provider-specific too, but no bank-relevant provider differs.
  const s = raw.trim().toLowerCase();
  if (s.length === 0) throw invalid('email', 'empty');
  if (s.length > 254) throw invalid('email', 'longer than 254 characters');
  const at = s.lastIndexOf('@');
  if (at > 64) throw invalid('email', 'local part longer than 64 characters');
  if (!EMAIL.test(s)) throw invalid('email', 'not of the form local@domain.tld');
  return s;
}

// C0, DEL and C1 controls; a control character in an id is almost always a broken export.
const CONTROL = /\p{Cc}/u;

function customerId(raw: string): string {
  // Only trimmed: customer ids are opaque and case-sensitive in many core banking systems.
  const s = raw.trim();
  if (s.length === 0) throw invalid('customer_id', 'empty');
  if (codePointLength(s) > 128) throw invalid('customer_id', 'longer than 128 characters');
  if (CONTROL.test(s)) throw invalid('customer_id', 'contains control characters');
  return s;
}

function text(raw: string): string {
  const s = raw.normalize('NFKC').toLowerCase().replace(/\s+/gu, ' ').trim();
  if (s.length === 0) throw invalid('text', 'empty');
  if (codePointLength(s) > 256) throw invalid('text', 'longer than 256 characters');
  if (CONTROL.test(s)) throw invalid('text', 'contains control characters');
  return s;
}

/** The canonical form of `raw` as an identifier of `kind`; throws `ACCORD_ID_INVALID` (without the value). */
export function normaliseId(kind: IdKind, raw: string): string {
  switch (kind) {
    case 'phone':
      return phone(raw);
    case 'national_id':
      return alnum('national_id', raw, 5, 20);
    case 'email':
      return email(raw);
    case 'account':
      return alnum('account', raw, 6, 34);
    case 'customer_id':
      return customerId(raw);
    case 'text':
      return text(raw);
    default:
      throw new AccordError('ACCORD_ID_KIND_UNKNOWN', {
        kind: String(kind).slice(0, 32),
        known: ID_KINDS.join(', '),
      });
  }
}
