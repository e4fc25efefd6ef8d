/**
 * Records everything a gRPC client in this process exchanges, for privacy tests: with `ACCORD_WIRE_RECORD=<file>`
 * set, every call made through `createMtlsClient` appends one JSON line per event to the file, in both directions:
 *
 *   {"method": "/accord.v1.Signals/Query", "dir": "out", "event": "metadata", "data": {...}}   request metadata
 *   {"method": ..., "dir": "out", "event": "message",  "data": {...}}                          each request message
 *   {"method": ..., "dir": "in",  "event": "metadata", "data": {...}}                          response headers
 *   {"method": ..., "dir": "in",  "event": "message",  "data": {...}}                          each response message
 *   {"method": ..., "dir": "in",  "event": "status",   "data": {"code", "details", "metadata"}} status and trailers
 *
 * Messages are recorded as the objects handed to (or produced by) the protobuf codec; metadata as
 * `{key: [values]}`, with `-bin` values and every Buffer/Uint8Array written as lower-case hex. Tests search the
 * file for every form of every identifier (test/helpers/identifier-forms.ts, test/helpers/wire-record.ts): a leak
 * in a header, a trailer, an error detail or an answer counts as much as one in a request body.
 *
 * `%p` in the file name is replaced by the process id (one record per process when several share the variable).
 * Off unless the variable is set (no interceptor at all). It never changes what is sent or received: each event is
 * recorded and then passed on as it is, and a recording failure is reported as a process warning, never thrown
 * into the call.
 */
import { appendFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';

export type WireDirection = 'out' | 'in';
export type WireEventKind = 'metadata' | 'message' | 'status';

/** One line of the record. */
export interface WireEvent {
  readonly method: string;
  readonly dir: WireDirection;
  readonly event: WireEventKind;
  readonly data: unknown;
}

/** A JSON-safe copy: bytes as hex, bigints as decimal text, metadata as `{key: [values]}`; never mutates. */
function plain(value: unknown, seen: WeakSet<object> = new WeakSet()): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Uint8Array)
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex');
  if (ArrayBuffer.isView(value))
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex');
  if (value instanceof ArrayBuffer) return Buffer.from(value).toString('hex');
  if (value instanceof grpc.Metadata) return plain(value.toJSON(), seen);
  if (seen.has(value)) return '[cycle]';
  seen.add(value);
  try {
    if (Array.isArray(value)) return value.map((v) => plain(v, seen));
    if (value instanceof Map)
      return Object.fromEntries([...value].map(([k, v]) => [String(k), plain(v, seen)]));
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v, seen)]));
  } finally {
    seen.delete(value);
  }
}

/**
 * The client interceptors that record to `file` (by default `ACCORD_WIRE_RECORD`); none if it is unset or empty.
 * Tests pass a file of their own.
 */
export function wireRecorderInterceptors(path = process.env['ACCORD_WIRE_RECORD']): grpc.Interceptor[] {
  if (!path) return [];
  // `%p` in the path becomes this process's id, so that each process of a test consortium records apart.
  const file = path.replaceAll('%p', String(process.pid));
  let warned = false;
  const record = (method: string, dir: WireDirection, event: WireEventKind, data: () => unknown): void => {
    try {
      const line: WireEvent = { method, dir, event, data: data() };
      appendFileSync(file, `${JSON.stringify(line)}\n`);
    } catch (err) {
      if (!warned) {
        warned = true;
        process.emitWarning(
          `wire recorder cannot write ${file}: ${(err as Error).message}`,
          'AccordWireRecorder',
        );
      }
    }
  };
  return [
    (options, nextCall) => {
      const method = options.method_definition.path;
      return new grpc.InterceptingCall(nextCall(options), {
        start: (metadata, _listener, next) => {
          // The listener given to `next` is chained in front of the caller's by grpc-js: each callback passes on.
          record(method, 'out', 'metadata', () => plain(metadata));
          next(metadata, {
            onReceiveMetadata: (headers, nextHeaders) => {
              record(method, 'in', 'metadata', () => plain(headers));
              nextHeaders(headers);
            },
            onReceiveMessage: (message, nextMessage) => {
              record(method, 'in', 'message', () => plain(message));
              nextMessage(message);
            },
            onReceiveStatus: (status, nextStatus) => {
              record(method, 'in', 'status', () => ({
                code: status.code,
                details: status.details,
                metadata: plain(status.metadata ?? {}),
              }));
              nextStatus(status);
            },
          });
        },
        sendMessage: (message, next) => {
          record(method, 'out', 'message', () => plain(message));
          next(message);
        },
      });
    },
  ];
}
