/**
 * How a REST route is declared: method, URL, who may call it, zod schemas for params/query/body/response, and a
 * handler that receives validated domain values. The same declarations drive validation, auth, the audit entry and
 * the OpenAPI document, so they cannot disagree.
 */
import type { Readable } from 'node:stream';
import type { z } from 'zod';
import type { Role } from '../../primitives/consortium/roles.js';

export interface Caller {
  readonly role: Role;
  /** Token label from config, for the audit log. */
  readonly label: string;
}

export interface RouteInput<P, Q, B> {
  readonly params: P;
  readonly query: Q;
  readonly body: B;
  readonly caller: Caller | null;
  /** The raw request body for streamed uploads (`bodyKind: 'csv'`). */
  readonly stream: Readable | null;
}

export interface RouteSpec<P = unknown, Q = unknown, B = unknown, R = unknown> {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly url: string;
  readonly summary: string;
  readonly tags: readonly string[];
  /** `public` routes need no token (health, OpenAPI). */
  readonly roles: readonly Role[] | 'public';
  readonly params?: z.ZodType<P>;
  readonly query?: z.ZodType<Q>;
  readonly body?: z.ZodType<B>;
  /** `csv`: the body is a streamed text/csv upload handed to the handler unparsed. */
  readonly bodyKind?: 'json' | 'csv';
  readonly response: z.ZodType<R>;
  /**
   * Set for a binary response (e.g. an ONNX file): its content type; the handler returns the bytes, or a Readable
   * that is streamed as the client reads it (a long list).
   */
  readonly produces?: string;
  /** With `produces`: the content type of one response, picked from its query (e.g. `?format=csv|ndjson`). */
  readonly contentType?: (query: Q) => string;
  readonly status?: number;
  readonly handler: (input: RouteInput<P, Q, B>) => Promise<R>;
  /** What the audit entry names as target (never a customer identifier). */
  readonly auditTarget?: (input: { params: P; query: Q }) => string;
}

/** Keeps each route's generic types while collecting routes of different types in one list. */
export function route<P, Q, B, R>(spec: RouteSpec<P, Q, B, R>): RouteSpec {
  return spec as unknown as RouteSpec;
}
