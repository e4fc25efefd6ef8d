/**
 * Records every message this process sends over gRPC, for privacy tests: with `ACCORD_WIRE_RECORD=<file>` set, each
 * outgoing message is appended to the file as one JSON line (`{method, message}`, bytes as hex). Tests then search
 * the file for raw identifiers and feature values. Off by default; it never changes what is sent.
 */
import { appendFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';

function plain(value: unknown): unknown {
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

export function wireRecorderInterceptors(file = process.env['ACCORD_WIRE_RECORD']): grpc.Interceptor[] {
  if (!file) return [];
  return [
    (options, nextCall) =>
      new grpc.InterceptingCall(nextCall(options), {
        sendMessage: (message, next) => {
          appendFileSync(
            file,
            `${JSON.stringify({ method: options.method_definition.path, message: plain(message) })}\n`,
          );
          next(message);
        },
      }),
  ];
}
