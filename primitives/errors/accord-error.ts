import { type ErrorCode, isErrorCode, type registry, specOf } from './registry.js';

export type ErrorParams = Record<string, string | number>;

/** The `{name}` placeholders of a template literal type, as a union of names. */
type Placeholders<S extends string> = S extends `${string}{${infer Name}}${infer Rest}`
  ? Name | Placeholders<Rest>
  : never;

/** Names a code's message and hint need: `new AccordError(code, params)` fails to compile when one is missing. */
export type ParamNames<C extends ErrorCode> = Placeholders<
  (typeof registry)[C]['message'] | (typeof registry)[C]['hint']
>;

/** The params argument of `code`: required, with every placeholder, when the code has any; optional otherwise. */
export type ParamsArg<C extends ErrorCode> = [ParamNames<C>] extends [never]
  ? [params?: ErrorParams, options?: { cause?: unknown }]
  : [params: Record<ParamNames<C>, string | number> & ErrorParams, options?: { cause?: unknown }];

/** What a missing placeholder renders as (only possible for an error rebuilt from a peer's message). */
const MISSING = '(not given)';

function render(template: string, params: ErrorParams): string {
  return template.replace(/\{(\w+)\}/g, (_whole, key: string) =>
    Object.hasOwn(params, key) ? String(params[key]) : MISSING,
  );
}

/**
 * An error from the registry. `params` fill the message template; they must never hold an identifier, a ciphertext
 * or a feature value (they are sent to peers and written to logs). Each code's params are typed from its templates.
 */
export class AccordError<C extends ErrorCode = ErrorCode> extends Error {
  readonly code: C;
  readonly params: ErrorParams;
  readonly hint: string;
  readonly httpStatus: number;
  readonly grpcStatus: number;

  constructor(code: C, ...[params = {}, options]: ParamsArg<C>) {
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

  /**
   * The same error with other params (for a code only known at run time, e.g. adding the failing entry's index to an
   * error raised deeper down). Params the caller omits keep their values.
   */
  withParams(params: ErrorParams): AccordError {
    return AccordError.fromWire(this.code, { ...this.params, ...params });
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
    // A peer's params are data, not code: a missing one renders as MISSING rather than failing here.
    return new (AccordError as new (code: ErrorCode, params: ErrorParams) => AccordError)(code, safe);
  }
}

/** Anything that is not an AccordError becomes the fixed internal error; the caller logs the original locally. */
export function toAccordError(err: unknown): AccordError {
  return err instanceof AccordError ? err : new AccordError('ACCORD_INTERNAL');
}
