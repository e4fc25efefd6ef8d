import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { renderErrorDocs } from '../../../primitives/errors/docs.js';
import { AccordError, registry } from '../../../primitives/errors/index.js';

describe('error registry', () => {
  it('every code is component-grouped, with a message, a hint, an HTTP and a gRPC status', () => {
    for (const [code, spec] of Object.entries(registry)) {
      expect(code).toMatch(/^ACCORD_[A-Z]+(_[A-Z0-9]+)*$/);
      expect(spec.message.length).toBeGreaterThan(0);
      expect(spec.hint.length).toBeGreaterThan(0);
      expect(spec.http).toBeGreaterThanOrEqual(400);
      expect(spec.grpc).toBeGreaterThan(0);
    }
  });

  it('docs/errors.md is generated from the registry and up to date (npm run docs:errors)', () => {
    const doc = readFileSync(fileURLToPath(new URL('../../../docs/errors.md', import.meta.url)), 'utf8');
    expect(doc).toBe(renderErrorDocs());
  });

  it('rebuilds only registry errors from the wire; anything else becomes the fixed internal error', () => {
    expect(
      AccordError.fromWire('ACCORD_DATASET_NOT_FOUND', { dataset: 'x', evil: { nested: 1 } }).params,
    ).toEqual({ dataset: 'x' });
    expect(AccordError.fromWire('SOMETHING_ELSE', {}).code).toBe('ACCORD_INTERNAL');
  });

  it('types params per code: leaving one out does not compile', () => {
    // @ts-expect-error ACCORD_ID_KIND_UNKNOWN's hint needs {known} too (the bug that showed users "{known}")
    const missing = () => new AccordError('ACCORD_ID_KIND_UNKNOWN', { kind: 'x' });
    // @ts-expect-error a code with placeholders needs its params
    const none = () => new AccordError('ACCORD_DATASET_NOT_FOUND');
    expect(missing).toBeTypeOf('function');
    expect(none).toBeTypeOf('function');
    const full = new AccordError('ACCORD_ID_KIND_UNKNOWN', { kind: 'x', known: 'phone, email' });
    expect(`${full.message} ${full.hint}`).not.toMatch(/\{\w+\}/);
  });

  it('never shows a raw placeholder, even for a peer error that lacks a param', () => {
    for (const code of Object.keys(registry)) {
      const rebuilt = AccordError.fromWire(code, {});
      expect(`${rebuilt.message} ${rebuilt.hint}`, code).not.toMatch(/\{\w+\}/);
    }
  });
});
