import type { z } from 'zod';
import { AccordError } from '../../primitives/errors/index.js';
import { formatZodIssues } from '../config/load.js';

/** Validates a decoded protobuf message right at the edge; a malformed one becomes ACCORD_WIRE_INVALID. */
export function decodeWith<S extends z.ZodType>(schema: S, message: string, wire: unknown): z.infer<S> {
  const parsed = schema.safeParse(wire);
  if (!parsed.success)
    throw new AccordError('ACCORD_WIRE_INVALID', { message, problems: formatZodIssues(parsed.error) });
  return parsed.data;
}
