import { type ErrorCode, isErrorCode, specOf } from './registry.js';

export type ErrorParams = Record<string, string | number>;

function render(template: string, params: ErrorParams): string {
  return template.replace(/\{(\w+)\}/g, (whole, key: string) =>
    Object.hasOwn(params, key) ? String(params[key]) : whole,
  );
}

/**
 * An error from the registry. `params` fill the message template; they must never hold an identifier, a ciphertext
 * or a feature value (they are sent to peers and written to logs).
 */
export class AccordError extends Error {
  readonly code: ErrorCode;
  readonly params: ErrorParams;
  readonly hint: string;
  readonly httpStatus: number;
  readonly grpcStatus: number;

  constructor(code: ErrorCode, params: ErrorParams = {}, options?: { cause?: unknown }) {
    const spec = specOf(code);
    super(render(spec.message, params), options);
    this.name = 'AccordError';
    this.code = code;
    this.params = params;
    this.hint = render(spec.hint, params);
    this.httpStatus = spec.http;
    this.grpcStatus = spec.grpc;
  }

  /** The body sent over REST and the payload of the gRPC trailer. */
  toJSON(): { code: ErrorCode; message: string; hint: string; params: ErrorParams } {
    return { code: this.code, message: this.message, hint: this.hint, params: this.params };
  }

  /** Rebuild an error received from a peer; unknown codes become ACCORD_INTERNAL. */
  static fromWire(code: string, params: unknown): AccordError {
    if (!isErrorCode(code)) return new AccordError('ACCORD_INTERNAL');
    const safe: ErrorParams = {};
    if (params && typeof params === 'object') {
      for (const [k, v] of Object.entries(params)) {
        if (typeof v === 'string' || typeof v === 'number') safe[k] = v;
      }
    }
    return new AccordError(code, safe);
  }
}

/** Anything that is not an AccordError becomes the fixed internal error; the caller logs the original locally. */
export function toAccordError(err: unknown): AccordError {
  return err instanceof AccordError ? err : new AccordError('ACCORD_INTERNAL');
}
