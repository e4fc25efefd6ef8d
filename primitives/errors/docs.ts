import { registry } from './registry.js';

const GRPC_NAMES: Record<number, string> = {
  1: 'CANCELLED',
  2: 'UNKNOWN',
  3: 'INVALID_ARGUMENT',
  4: 'DEADLINE_EXCEEDED',
  5: 'NOT_FOUND',
  6: 'ALREADY_EXISTS',
  7: 'PERMISSION_DENIED',
  8: 'RESOURCE_EXHAUSTED',
  9: 'FAILED_PRECONDITION',
  10: 'ABORTED',
  11: 'OUT_OF_RANGE',
  12: 'UNIMPLEMENTED',
  13: 'INTERNAL',
  14: 'UNAVAILABLE',
  15: 'DATA_LOSS',
  16: 'UNAUTHENTICATED',
};

/** The error reference as Markdown, generated so that it cannot drift from the registry. */
export function renderErrorDocs(): string {
  const rows = Object.entries(registry)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(
      ([code, s]) =>
        `| \`${code}\` | ${s.http} | ${GRPC_NAMES[s.grpc] ?? s.grpc} | ${s.message} | ${s.hint} |`,
    );
  return [
    '# Accord error codes',
    '',
    'Generated from `primitives/errors/` by `npm run docs:errors`; do not edit by hand. Codes are never reused.',
    'REST bodies carry `{"error": {code, message, hint, params}}`; gRPC calls carry the status below and the code in',
    'the `accord-error-bin` trailer. Messages never contain an identifier, a ciphertext or a feature value.',
    '',
    '| code | HTTP | gRPC | message | what to do |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}
