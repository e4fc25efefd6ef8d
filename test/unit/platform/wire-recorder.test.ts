/**
 * Self-test of the privacy tests' tools: the wire recorder (platform/grpc/wire-recorder.ts), the identifier and
 * number forms (test/helpers/identifier-forms.ts) and the leak search (test/helpers/wire-record.ts).
 *
 * Why: a privacy test that cannot see a leak passes whatever the code does. So here leaks are planted on purpose,
 * over a real mutual-TLS gRPC call with the real Signals contract (server in-process, handlers written here), one
 * place at a time: request metadata (text and -bin), a request bytes field, a response message, response headers,
 * status details, a -bin trailer, a streamed answer, and base64 inside a string at every alignment. Each must be
 * found, in the event it was planted in and nowhere else, while a clean call yields no finding at all. The forms
 * are checked on their own too: each is really what an encoding of the identifier looks like, and each encoding of
 * the identifier (hex, base64 at any offset of a larger buffer, upper and lower case) is caught.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createMtlsClient } from '../../../platform/grpc/client.js';
import { serviceOf } from '../../../platform/grpc/proto.js';
import { bindServer, serverCredentials } from '../../../platform/grpc/server.js';
import { wireRecorderInterceptors } from '../../../platform/grpc/wire-recorder.js';
import { coordinatorAndMemberTls } from '../../helpers/test-pki.js';
import { SIGNALS_PROTO, SIGNALS_SERVICE } from '../../../platform/wire/signals.js';
import {
  base64Cores,
  type IdKind,
  identifierForms,
  identifierTexts,
  MIN_FORM_LENGTH,
  numberForms,
} from '../../helpers/identifier-forms.js';
import { findLeaks, type Leak, parseWireRecord } from '../../helpers/wire-record.js';

const PHONE_RAW = '+86 138 0013 8000';
const PHONE_NORMALISED = '+8613800138000';
const PHONE_FORMS = identifierForms('phone', PHONE_RAW);

/** base64 of `text` embedded after `offset` bytes of other data and followed by more (a blob, not the id alone). */
function base64Inside(text: string, offset: number): string {
  return Buffer.concat([randomBytes(offset), Buffer.from(text, 'utf8'), randomBytes(7)]).toString('base64');
}

/** Where each finding was: "dir event" for every leak (one entry per distinct place). */
const places = (leaks: readonly Leak[]) => [
  ...new Set(leaks.map((l) => `${l.event?.dir} ${l.event?.event}`)),
];

interface QueryRequest {
  element: Buffer;
  insecurePlaintext: boolean;
}
interface QueryResponse {
  aggregates: {
    applications: { d1: number; d7: number; d30: number };
    flags: Array<{ kind: string; members: number; lastSeenMs: number }>;
  };
}

const answer = (kind = 'telecom_scam'): QueryResponse => ({
  aggregates: { applications: { d1: 1, d7: 2, d30: 3 }, flags: [{ kind, members: 1, lastSeenMs: 1_000 }] },
});

/** What the test server plants in its answer to the next call. */
type ServerPlant =
  | { where: 'none' }
  | { where: 'message'; kind: string }
  | { where: 'headers'; key: string; value: string | Buffer }
  | { where: 'details'; details: string }
  | { where: 'trailers'; key: string; value: string | Buffer };

describe('wire recorder over real mutual TLS', () => {
  const { serverTls, clientTls } = coordinatorAndMemberTls();
  const Signals = serviceOf(SIGNALS_PROTO, SIGNALS_SERVICE);
  let dir: string;
  let file: string;
  let server: grpc.Server;
  let address: string;
  let client: grpc.Client;
  let plant: ServerPlant = { where: 'none' };
  /** What the server received, to check the recorder changed nothing. */
  const received: Array<{ element: Buffer; metadata: grpc.Metadata }> = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'accord-wire-'));
    file = join(dir, 'record.jsonl');
    server = new grpc.Server();
    server.addService(Signals.service, {
      query: (
        call: grpc.ServerUnaryCall<QueryRequest, QueryResponse>,
        callback: grpc.sendUnaryData<QueryResponse>,
      ) => {
        received.push({ element: Buffer.from(call.request.element), metadata: call.metadata });
        const p = plant;
        if (p.where === 'headers') {
          const headers = new grpc.Metadata();
          headers.set(p.key, p.value);
          call.sendMetadata(headers);
        }
        if (p.where === 'details') {
          callback({ code: grpc.status.NOT_FOUND, details: p.details });
          return;
        }
        if (p.where === 'trailers') {
          const trailers = new grpc.Metadata();
          trailers.set(p.key, p.value);
          callback(null, answer(), trailers);
          return;
        }
        callback(null, answer(p.where === 'message' ? p.kind : undefined));
      },
      queryStream: (call: grpc.ServerDuplexStream<{ callId: number }, unknown>) => {
        call.on('data', (m: { callId: number }) => {
          // The first query fails with an error naming the customer (a leak); the second is answered cleanly.
          if (m.callId === 1)
            call.write({
              callId: 1,
              error: Buffer.from(JSON.stringify({ code: 'ACCORD_X', params: { id: PHONE_RAW } })),
            });
          else call.write({ callId: m.callId, response: answer() });
        });
        call.on('end', () => call.end());
      },
    });
    const port = await bindServer(server, '127.0.0.1', 0, serverCredentials(serverTls));
    address = `127.0.0.1:${port}`;
    client = createMtlsClient(Signals, address, 'coordinator', clientTls, {
      interceptors: wireRecorderInterceptors(file),
    });
  });

  afterAll(() => {
    client?.close();
    server?.forceShutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    writeFileSync(file, '');
    plant = { where: 'none' };
    received.length = 0;
  });

  interface Outcome {
    response: QueryResponse | null;
    error: grpc.ServiceError | null;
    headers: grpc.Metadata | null;
    trailers: grpc.Metadata | null;
  }

  function query(
    element: Buffer,
    metadata = new grpc.Metadata(),
    on: grpc.Client = client,
  ): Promise<Outcome & { record: string }> {
    return new Promise((resolve) => {
      const outcome: Outcome = { response: null, error: null, headers: null, trailers: null };
      const call = (
        on as unknown as {
          query(
            r: QueryRequest,
            m: grpc.Metadata,
            o: grpc.CallOptions,
            cb: (e: grpc.ServiceError | null, r?: QueryResponse) => void,
          ): grpc.ClientUnaryCall;
        }
      ).query({ element, insecurePlaintext: false }, metadata, { deadline: Date.now() + 5_000 }, (err, r) => {
        outcome.error = err;
        outcome.response = r ?? null;
      });
      call.on('metadata', (m) => {
        outcome.headers = m;
      });
      call.on('status', (s) => {
        outcome.trailers = s.metadata;
        // The callback runs before 'status'; by now the call is complete and every event recorded.
        setImmediate(() => resolve({ ...outcome, record: readFileSync(file, 'utf8') }));
      });
    });
  }

  const cleanElement = () => Buffer.alloc(32, 7);

  it('records metadata, messages and status in both directions, and finds nothing in a clean call', async () => {
    const metadata = new grpc.Metadata();
    metadata.set('x-request-kind', 'screening');
    const { record, response } = await query(cleanElement(), metadata);
    expect(response).toEqual(answer());
    const events = parseWireRecord(record).map((e) => `${e.method} ${e.dir} ${e.event}`);
    const m = '/accord.v1.Signals/Query';
    expect(events).toEqual([
      `${m} out metadata`,
      `${m} out message`,
      `${m} in metadata`,
      `${m} in message`,
      `${m} in status`,
    ]);
    const [outMetadata, outMessage, , inMessage, status] = parseWireRecord(record);
    expect(outMetadata!.data).toEqual({ 'x-request-kind': ['screening'] });
    expect(outMessage!.data).toEqual({ element: '07'.repeat(32), insecurePlaintext: false });
    expect(inMessage!.data).toEqual(answer());
    expect(status!.data).toMatchObject({ code: grpc.status.OK });
    expect(findLeaks(record, PHONE_FORMS)).toEqual([]);
    expect(received[0]!.metadata.get('x-request-kind')).toEqual(['screening']);
  });

  it('finds an identifier planted in request metadata, as text and as a -bin value', async () => {
    const text = new grpc.Metadata();
    text.set('x-customer', PHONE_RAW);
    const a = await query(cleanElement(), text);
    expect(places(findLeaks(a.record, PHONE_FORMS))).toEqual(['out metadata']);
    expect(received[0]!.metadata.get('x-customer')).toEqual([PHONE_RAW]);

    const bin = new grpc.Metadata();
    bin.set('x-trace-bin', Buffer.from(PHONE_NORMALISED.slice(1)));
    const b = await query(cleanElement(), bin);
    const leaks = findLeaks(b.record, PHONE_FORMS);
    expect(places(leaks)).toEqual(['out metadata']);
    expect(leaks.map((l) => l.needle)).toContain(Buffer.from('8613800138000').toString('hex'));
    expect(received[1]!.metadata.get('x-trace-bin')).toEqual([Buffer.from('8613800138000')]);
  });

  it('finds an identifier planted in a request bytes field (its UTF-8)', async () => {
    const element = Buffer.alloc(32, 0x11);
    Buffer.from(PHONE_RAW, 'utf8').copy(element, 5);
    const { record } = await query(element);
    const leaks = findLeaks(record, PHONE_FORMS);
    expect(places(leaks)).toEqual(['out message']);
    const inHex = leaks.find((l) => !l.inBytes)!;
    expect(inHex.where).toBe('/accord.v1.Signals/Query out message (line 2)');
    expect(inHex.context).toContain(Buffer.from(PHONE_RAW).toString('hex'));
    // The same bytes read as text hold the number as imported.
    expect(leaks.find((l) => l.inBytes && l.needle === PHONE_RAW)?.where).toMatch(/^bytes .* out message/);
    expect(received[0]!.element.equals(element)).toBe(true);
  });

  it('finds an identifier planted in the response message', async () => {
    plant = { where: 'message', kind: '13800138000' };
    const { record, response } = await query(cleanElement());
    expect(response!.aggregates.flags[0]!.kind).toBe('13800138000');
    expect(places(findLeaks(record, PHONE_FORMS))).toEqual(['in message']);
  });

  it('finds an identifier planted in response headers', async () => {
    plant = { where: 'headers', key: 'x-served-for', value: PHONE_NORMALISED };
    const { record, headers } = await query(cleanElement());
    expect(headers!.get('x-served-for')).toEqual([PHONE_NORMALISED]);
    expect(places(findLeaks(record, PHONE_FORMS))).toEqual(['in metadata']);
  });

  it('finds an identifier planted in status details and in a -bin trailer', async () => {
    plant = { where: 'details', details: `no signals for ${PHONE_RAW}` };
    const a = await query(cleanElement());
    expect(a.error?.details).toBe(`no signals for ${PHONE_RAW}`);
    expect(places(findLeaks(a.record, PHONE_FORMS))).toEqual(['in status']);

    const json = Buffer.from(JSON.stringify({ code: 'ACCORD_X', params: { phone: PHONE_NORMALISED } }));
    plant = { where: 'trailers', key: 'x-error-bin', value: json };
    const b = await query(cleanElement());
    expect(b.trailers!.get('x-error-bin')).toEqual([json]);
    const leaks = findLeaks(b.record, PHONE_FORMS);
    expect(places(leaks)).toEqual(['in status']);
    // Found both as hex of the UTF-8 and inside the bytes themselves.
    expect(leaks.some((l) => l.needle === Buffer.from(PHONE_NORMALISED).toString('hex'))).toBe(true);
  });

  it('finds an identifier base64-encoded inside a string, at every offset of the blob', async () => {
    for (const offset of [0, 1, 2, 3, 4, 5]) {
      writeFileSync(file, '');
      const metadata = new grpc.Metadata();
      metadata.set('x-context', base64Inside(PHONE_RAW, offset));
      const out = await query(cleanElement(), metadata);
      const leaks = findLeaks(out.record, PHONE_FORMS);
      expect(places(leaks), `offset ${offset}`).toEqual(['out metadata']);
      expect(leaks.map((l) => l.needle)).toContain(base64Cores(Buffer.from(PHONE_RAW))[offset % 3]);

      writeFileSync(file, '');
      plant = {
        where: 'message',
        kind: base64Inside(PHONE_NORMALISED, offset).replace(/\+/g, '-').replace(/\//g, '_'),
      };
      const back = await query(cleanElement());
      expect(places(findLeaks(back.record, PHONE_FORMS)), `offset ${offset}`).toEqual(['in message']);
      plant = { where: 'none' };
    }
  });

  it('records every message of a stream in both directions, and finds a leak in a streamed answer', async () => {
    const stream = (
      client as unknown as { queryStream(): grpc.ClientDuplexStream<unknown, { callId: number }> }
    ).queryStream();
    const answers: Array<{ callId: number }> = [];
    stream.on('data', (m: { callId: number }) => answers.push(m));
    const done = new Promise<void>((resolve) => stream.on('status', () => setImmediate(resolve)));
    const request = { element: cleanElement(), insecurePlaintext: false };
    stream.write({ callId: 1, request });
    stream.write({ callId: 2, request });
    await new Promise<void>((resolve) => {
      const check = () => (answers.length === 2 ? resolve() : setTimeout(check, 5));
      check();
    });
    stream.end();
    await done;
    const record = readFileSync(file, 'utf8');
    const events = parseWireRecord(record).map((e) => `${e.dir} ${e.event}`);
    expect(events.filter((e) => e === 'out message')).toHaveLength(2);
    expect(events.filter((e) => e === 'in message')).toHaveLength(2);
    expect(events).toContain('in status');
    const leaks = findLeaks(record, PHONE_FORMS);
    expect(places(leaks)).toEqual(['in message']);
    expect(leaks.every((l) => l.event?.method === '/accord.v1.Signals/QueryStream')).toBe(true);
  });

  it('is off without a file, and a record it cannot write never fails the call', async () => {
    expect(wireRecorderInterceptors('')).toEqual([]);
    const warned = new Promise<Error>((resolve) => process.once('warning', resolve));
    const broken = createMtlsClient(Signals, address, 'coordinator', clientTls, {
      interceptors: wireRecorderInterceptors(join(dir, 'no-such-folder', 'record.jsonl')),
    });
    try {
      const { response, error } = await query(cleanElement(), new grpc.Metadata(), broken);
      expect(error).toBeNull();
      expect(response).toEqual(answer());
      expect((await warned).message).toMatch(/wire recorder cannot write/);
    } finally {
      broken.close();
    }
  });
});

describe('identifier forms', () => {
  const samples: Array<[IdKind, string]> = [
    ['phone', PHONE_RAW],
    ['email', 'Mule.Account@Example.org'],
    ['national_id', '110105 19491231 002x'],
    ['customer_id', '  CUST-00042917 '],
  ];
  const prefix = Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x01]);
  const suffix = Buffer.from([0x7f, 0x80, 0x81, 0x00, 0xff, 0x42]);

  /** Every way the text could be carried in a larger payload, built independently of identifierForms. */
  function embeddings(text: string): string[] {
    const utf8 = Buffer.from(text, 'utf8');
    const out = [
      `{"note":"${text}"}`,
      JSON.stringify({ note: text }),
      `https://x.test/?q=${encodeURIComponent(text)}`,
      Buffer.concat([prefix, utf8, suffix]).toString('hex'),
      Buffer.concat([prefix, utf8, suffix]).toString('hex').toUpperCase(),
      utf8.toString('base64'),
      utf8.toString('base64url'),
      Buffer.concat([prefix, Buffer.from(text, 'utf16le'), suffix]).toString('hex'),
      Buffer.concat([prefix, Buffer.from(text, 'utf16le'), suffix])
        .toString('hex')
        .toUpperCase(),
      Buffer.concat([prefix, Buffer.from(text, 'utf16le').swap16(), suffix]).toString('hex'),
      Buffer.concat([prefix, Buffer.from(text, 'utf16le').swap16(), suffix])
        .toString('hex')
        .toUpperCase(),
    ];
    for (let offset = 0; offset < 6; offset++) {
      const blob = Buffer.concat([prefix.subarray(0, offset), utf8, suffix]);
      out.push(blob.toString('base64'), blob.toString('base64url'));
    }
    return out;
  }

  it.each(samples)('%s: lists the imported, trimmed, normalised, digit and case forms', (kind, raw) => {
    const texts = identifierTexts(kind, raw);
    expect(texts).toContain(raw);
    expect(texts).toContain(raw.trim());
    expect(texts).toContain(raw.toUpperCase());
    expect(texts).toContain(raw.toLowerCase());
    const forms = identifierForms(kind, raw);
    expect(new Set(forms).size).toBe(forms.length);
    for (const f of forms) expect(Buffer.byteLength(f)).toBeGreaterThanOrEqual(MIN_FORM_LENGTH);
    if (kind === 'phone') {
      for (const t of ['+86 138 0013 8000', '+8613800138000', '8613800138000', '13800138000', '013800138000'])
        expect(forms).toContain(t);
      expect(forms).toContain(Buffer.from('+8613800138000').toString('hex').toUpperCase());
    }
    if (kind === 'national_id') expect(forms).toContain('11010519491231002X');
    if (kind === 'customer_id') expect(forms).toContain('CUST-00042917');
    if (kind === 'email') expect(forms).toContain('mule.account@example.org');
  });

  it.each(samples)(
    '%s: every listed form is what some encoding of the identifier looks like',
    (kind, raw) => {
      const corpus = identifierTexts(kind, raw).flatMap(embeddings).join('\n');
      const missing = identifierForms(kind, raw).filter((f) => !corpus.includes(f));
      expect(missing).toEqual([]);
    },
  );

  it.each(samples)(
    '%s: catches the identifier in hex, base64 at any offset, and either case',
    (kind, raw) => {
      const forms = identifierForms(kind, raw);
      const utf8 = Buffer.from(raw.trim(), 'utf8');
      const carriers: Record<string, string> = {
        'hex in a larger buffer': Buffer.concat([prefix, utf8, suffix]).toString('hex'),
        'HEX in a larger buffer': Buffer.concat([prefix, utf8, suffix]).toString('hex').toUpperCase(),
        'upper-case text': `Customer: ${raw.toUpperCase()}.`,
        'lower-case text': `customer: ${raw.toLowerCase()}.`,
        'UTF-16LE hex': Buffer.concat([prefix, Buffer.from(raw, 'utf16le')]).toString('hex'),
      };
      for (let offset = 0; offset < 3; offset++) {
        const blob = Buffer.concat([prefix.subarray(0, offset), utf8, suffix]);
        carriers[`base64 at offset ${offset}`] = blob.toString('base64');
        carriers[`base64url at offset ${offset}`] = blob.toString('base64url');
      }
      for (const [how, text] of Object.entries(carriers)) {
        expect(findLeaks(text, forms).length, how).toBeGreaterThan(0);
      }
      // The base64 core of each alignment is the one that matches at that offset.
      for (let offset = 0; offset < 3; offset++) {
        const blob = Buffer.concat([prefix.subarray(0, offset), utf8, suffix]).toString('base64');
        expect(blob).toContain(base64Cores(utf8)[offset]);
      }
    },
  );

  it('finds nothing in a megabyte of random bytes, hex and base64 (the length rule keeps chance hits out)', () => {
    const noise = randomBytes(1 << 20);
    const text = `${noise.toString('hex')}\n${noise.toString('base64')}\n${noise.toString('latin1')}`;
    const forms = samples.flatMap(([kind, raw]) => identifierForms(kind, raw));
    expect(findLeaks(text, forms)).toEqual([]);
  });
});

/** `length` bytes that look random and are the same on every run: SHA-512 of `label` and a counter. */
function pseudoRandomBytes(label: string, length: number): Buffer {
  const blocks: Buffer[] = [];
  for (let k = 0; blocks.length * 64 < length; k++)
    blocks.push(createHash('sha512').update(`${label}/${k}`).digest());
  return Buffer.concat(blocks).subarray(0, length);
}

describe('leak search', () => {
  it('finds a short digit form as a value, but not by chance inside megabytes of hex', () => {
    const phones = Array.from({ length: 2_000 }, (_, i) => `+886 9${String(10_000_000 + i * 4_177)}`);
    const forms = phones.flatMap((p) => identifierForms('phone', p));
    const lines = Array.from({ length: 4_000 }, (_, i) =>
      JSON.stringify({
        method: '/m',
        dir: 'out',
        event: 'message',
        // Fixed pseudo-random bytes: random ones made this test fail by chance about once in a hundred runs (a
        // 10-digit form at a byte boundary of 4 MB of hex); fixed ones keep it a test of the rule, not of luck.
        data: { n: i, b: pseudoRandomBytes(`leak search ${i}`, 500).toString('hex') },
      }),
    );
    expect(findLeaks(lines.join('\n'), forms)).toEqual([]);
    // The national number alone, as a value, is found; so is the international one written as BCD inside bytes.
    const national = phones[7]!.replace('+886 ', '');
    expect(findLeaks(`{"data":{"phone":"${national}"}}`, forms).map((l) => l.needle)).toEqual([national]);
    // Inside a run of hex digits its 9 digits are no byte encoding: a chance hit, not counted.
    expect(findLeaks(`{"data":{"b":"ab${national}cd"}}`, forms)).toEqual([]);
    const bcd = `{"data":{"b":"00ff${'886'.concat(national)}ff00"}}`;
    expect(findLeaks(bcd, forms).map((l) => l.needle)).toContain(`886${national}`);
  });

  it('finds a short hex encoding inside a hex run only at a byte boundary', () => {
    const f32 = Buffer.alloc(4);
    f32.writeFloatBE(0.7312345);
    const hex = f32.toString('hex');
    const forms = numberForms(0.7312345);
    expect(findLeaks(`"ab${hex}cd"`, forms).map((l) => l.needle)).toContain(hex);
    expect(findLeaks(`"a${hex}cd"`, forms).map((l) => l.needle)).not.toContain(hex);
  });
});

describe('number forms', () => {
  const x = 0.7312345;

  it('finds a fixed-point encoding of a value inside a larger buffer', () => {
    const fixed = Buffer.alloc(8);
    fixed.writeBigInt64LE(BigInt(Math.round(x * 2 ** 20)));
    const record = JSON.stringify({
      share: Buffer.concat([randomBytes(13), fixed, randomBytes(9)]).toString('hex'),
    });
    const leaks = findLeaks(record, numberForms(x));
    expect(leaks.map((l) => l.needle)).toContain(fixed.toString('hex'));

    const negative = Buffer.alloc(8);
    negative.writeBigInt64BE(BigInt(Math.round(-12.640625 * 2 ** 16)));
    expect(findLeaks(negative.toString('hex'), numberForms(-12.640625)).length).toBeGreaterThan(0);
    expect(findLeaks(`{"v":${Math.round(x * 1e6)}}`, numberForms(x)).length).toBeGreaterThan(0);
  });

  it('finds the float64 and float32 bytes, in hex and base64, and the decimal text', () => {
    const f64 = Buffer.alloc(8);
    f64.writeDoubleLE(x);
    const f32 = Buffer.alloc(4);
    f32.writeFloatBE(x);
    const forms = numberForms(x);
    expect(findLeaks(f64.toString('hex').toUpperCase(), forms).length).toBeGreaterThan(0);
    for (let offset = 0; offset < 3; offset++) {
      const blob = Buffer.concat([randomBytes(offset + 3), f64, randomBytes(5)]).toString('base64url');
      expect(findLeaks(blob, forms).length, `float64 at offset ${offset}`).toBeGreaterThan(0);
    }
    // Alignment 1 leaves only 4 characters (24 bits) of a float32 in base64: too few to search (see numberForms).
    for (const offset of [0, 2]) {
      const blob = Buffer.concat([randomBytes(offset + 3), f32, randomBytes(5)]).toString('base64');
      expect(findLeaks(blob, forms).length, `float32 at offset ${offset}`).toBeGreaterThan(0);
    }
    expect(findLeaks('score=0.7312345;', forms).length).toBeGreaterThan(0);
    expect(findLeaks('score=0.7312;', forms).length).toBeGreaterThan(0);
  });
});
