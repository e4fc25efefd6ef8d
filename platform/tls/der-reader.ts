/**
 * A minimal, strict DER (X.690) reader: the counterpart of `der.ts`, for the few structures Accord has to read
 * (certificate revocation lists, the subject Name of a certificate). Why not a library: same reason as the writer
 * (no dependency for a few hundred bytes of parsing), and strictness is the point here. Anything that is not
 * canonical DER is refused, not repaired: indefinite lengths, non-minimal lengths, high tag numbers, lengths that
 * run past the end, bytes left over after a value, and non-minimal INTEGERs. Input is untrusted (a CRL file);
 * every read is bounds-checked and failures throw `DerError`, which callers turn into a coded error.
 */

/** A DER decoding failure; `message` says what and where (byte offset), never the data itself. */
export class DerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DerError';
  }
}

/** Universal tags Accord reads (the identifier octet as a whole: class bits + constructed bit + number). */
export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  ENUMERATED: 0x0a,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** [n] EXPLICIT / constructed context-specific tag, as the identifier octet. */
export const contextTag = (n: number): number => 0xa0 | n;

/** One decoded TLV (tag, length, value). Buffers are views into the input, not copies. */
export interface DerNode {
  /** The identifier octet (only the low-tag-number form, tags 0..30, exists in DER Accord reads). */
  readonly tag: number;
  /** Bit 6 of the identifier: the value is itself a series of TLVs. */
  readonly constructed: boolean;
  /** The content octets. */
  readonly value: Buffer;
  /** The whole encoding, header included: what a signature covers and what byte comparisons compare. */
  readonly raw: Buffer;
  /** Offset of the node in the buffer it was read from (for error messages). */
  readonly offset: number;
}

/**
 * Reads the TLV starting at `offset` of `buf`. Returns the node and the offset just after it.
 * Length rules (X.690 §8.1.3 + DER §10.1): short form below 128; long form only for 128 and above, with no leading
 * zero octet; the indefinite form (0x80) and the reserved 0xff are refused.
 */
export function readNode(buf: Buffer, offset: number): { node: DerNode; next: number } {
  if (offset >= buf.length) throw new DerError(`truncated: expected a tag at byte ${offset}`);
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError(`high tag number form at byte ${offset} is not supported`);
  let pos = offset + 1;
  if (pos >= buf.length) throw new DerError(`truncated: expected a length at byte ${pos}`);
  const first = buf[pos++]!;
  let length: number;
  if (first < 0x80) {
    length = first;
  } else if (first === 0x80) {
    throw new DerError(`indefinite length at byte ${pos - 1} is not DER`);
  } else if (first === 0xff) {
    throw new DerError(`reserved length octet 0xff at byte ${pos - 1}`);
  } else {
    const count = first & 0x7f;
    // Four length octets address 4 GiB: far more than any structure Accord reads; more would overflow a number.
    if (count > 4) throw new DerError(`length of ${count} octets at byte ${pos - 1} is too large`);
    if (pos + count > buf.length)
      throw new DerError(`truncated: length octets at byte ${pos} run past the end`);
    if (buf[pos] === 0) throw new DerError(`non-minimal length (leading zero) at byte ${pos}`);
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + buf[pos + i]!;
    pos += count;
    if (length < 0x80)
      throw new DerError(`non-minimal length (long form for ${length}) at byte ${offset + 1}`);
  }
  const end = pos + length;
  if (end > buf.length) {
    throw new DerError(`length ${length} at byte ${offset + 1} runs past the end of the input`);
  }
  const node: DerNode = {
    tag,
    constructed: (tag & 0x20) !== 0,
    value: buf.subarray(pos, end),
    raw: buf.subarray(offset, end),
    offset,
  };
  return { node, next: end };
}

/** Decodes a buffer that must hold exactly one TLV: trailing bytes are refused. */
export function parseDer(buf: Buffer): DerNode {
  const { node, next } = readNode(buf, 0);
  if (next !== buf.length) throw new DerError(`${buf.length - next} trailing byte(s) after the value`);
  return node;
}

/** The TLVs inside a constructed node; they must fill its value exactly. */
export function childrenOf(node: DerNode): DerNode[] {
  if (!node.constructed)
    throw new DerError(`tag 0x${hex(node.tag)} at byte ${node.offset} is not constructed`);
  const out: DerNode[] = [];
  // Offsets in messages stay absolute: a child's offset is relative to `value`, so add the header size.
  const base = node.offset + (node.raw.length - node.value.length);
  let pos = 0;
  while (pos < node.value.length) {
    const { node: child, next } = readNode(node.value, pos);
    out.push({ ...child, offset: base + child.offset });
    pos = next;
  }
  return out;
}

/** Throws unless `node` has the expected tag; `what` names the field for the message. */
export function expectTag(node: DerNode | undefined, tag: number, what: string): DerNode {
  if (!node) throw new DerError(`${what} is missing`);
  if (node.tag !== tag) {
    throw new DerError(
      `${what} at byte ${node.offset}: expected tag 0x${hex(tag)}, found 0x${hex(node.tag)}`,
    );
  }
  return node;
}

/** The children of a SEQUENCE (checks the tag first). */
export function sequenceOf(node: DerNode | undefined, what: string): DerNode[] {
  return childrenOf(expectTag(node, TAG.SEQUENCE, what));
}

/** INTEGER content as a signed BigInt (two's complement, minimal encoding required by X.690 §8.3.2). */
export function readInteger(node: DerNode | undefined, what: string): bigint {
  const { value, offset } = expectTag(node, TAG.INTEGER, what);
  if (value.length === 0) throw new DerError(`${what} at byte ${offset}: empty INTEGER`);
  if (
    value.length > 1 &&
    ((value[0] === 0x00 && (value[1]! & 0x80) === 0) || (value[0] === 0xff && (value[1]! & 0x80) !== 0))
  ) {
    throw new DerError(`${what} at byte ${offset}: non-minimal INTEGER encoding`);
  }
  const unsigned = BigInt(`0x${value.toString('hex')}`);
  return (value[0]! & 0x80) !== 0 ? unsigned - (1n << BigInt(value.length * 8)) : unsigned;
}

/** OBJECT IDENTIFIER in dotted form (X.690 §8.19); refuses non-minimal sub-identifiers. */
export function readOid(node: DerNode | undefined, what: string): string {
  const { value, offset } = expectTag(node, TAG.OID, what);
  if (value.length === 0) throw new DerError(`${what} at byte ${offset}: empty OBJECT IDENTIFIER`);
  const arcs: bigint[] = [];
  let current = 0n;
  let started = false;
  for (const byte of value) {
    if (!started && byte === 0x80) throw new DerError(`${what} at byte ${offset}: non-minimal OID arc`);
    started = true;
    current = (current << 7n) | BigInt(byte & 0x7f);
    if ((byte & 0x80) === 0) {
      arcs.push(current);
      current = 0n;
      started = false;
    }
  }
  if (started) throw new DerError(`${what} at byte ${offset}: truncated OBJECT IDENTIFIER`);
  // The first sub-identifier packs the first two arcs: 40 * first + second (first is 0, 1 or 2).
  const head = arcs[0]!;
  const first = head < 40n ? 0n : head < 80n ? 1n : 2n;
  return [first, head - first * 40n, ...arcs.slice(1)].join('.');
}

/** BIT STRING content whose bit count is a multiple of 8 (signatures, keys): refuses unused bits. */
export function readBitStringBytes(node: DerNode | undefined, what: string): Buffer {
  const { value, offset } = expectTag(node, TAG.BIT_STRING, what);
  if (value.length === 0) throw new DerError(`${what} at byte ${offset}: empty BIT STRING`);
  if (value[0] !== 0) throw new DerError(`${what} at byte ${offset}: BIT STRING has unused bits`);
  return value.subarray(1);
}

/** BOOLEAN (DER: 0x00 or 0xff only). */
export function readBoolean(node: DerNode | undefined, what: string): boolean {
  const { value, offset } = expectTag(node, TAG.BOOLEAN, what);
  if (value.length !== 1 || (value[0] !== 0x00 && value[0] !== 0xff)) {
    throw new DerError(`${what} at byte ${offset}: BOOLEAN is not 0x00 or 0xff`);
  }
  return value[0] === 0xff;
}

/**
 * UTCTime (YYMMDDHHMMSSZ; years 50..99 are 19xx) or GeneralizedTime (YYYYMMDDHHMMSSZ), in the only forms RFC 5280
 * §4.1.2.5 allows: UTC ("Z"), seconds present, no fractional seconds. Impossible dates (month 13, 31 April) are
 * refused rather than rolled over.
 */
export function readTime(node: DerNode | undefined, what: string): Date {
  if (!node) throw new DerError(`${what} is missing`);
  const text = node.value.toString('latin1');
  let match: RegExpExecArray | null;
  let year: number;
  if (node.tag === TAG.UTC_TIME) {
    match = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
    const yy = Number(match?.[1]);
    year = yy < 50 ? 2000 + yy : 1900 + yy;
  } else if (node.tag === TAG.GENERALIZED_TIME) {
    match = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
    year = Number(match?.[1]);
  } else {
    throw new DerError(`${what} at byte ${node.offset}: expected UTCTime or GeneralizedTime`);
  }
  if (!match) throw new DerError(`${what} at byte ${node.offset}: time is not in YYMMDDHHMMSSZ form`);
  const [month, day, hour, minute, second] = match.slice(2).map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  if (
    date.getUTCFullYear() !== year ||
    date.getUTCMonth() !== month - 1 ||
    date.getUTCDate() !== day ||
    date.getUTCHours() !== hour ||
    date.getUTCMinutes() !== minute ||
    date.getUTCSeconds() !== second
  ) {
    throw new DerError(`${what} at byte ${node.offset}: not a valid date and time`);
  }
  return date;
}

function hex(n: number): string {
  return n.toString(16).padStart(2, '0');
}
