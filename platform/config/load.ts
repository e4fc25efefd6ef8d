/**
 * Config is parsed once at start: read the JSON file, validate with zod (every invalid field listed at once),
 * resolve relative paths against the config file's folder, freeze. Nothing starts before this succeeds.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { z } from 'zod';
import { AccordError } from '../../primitives/errors/index.js';

export function formatZodIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
}

export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

export function readJsonFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new AccordError('ACCORD_CONFIG_UNREADABLE', {
      file,
      reason: (err as NodeJS.ErrnoException).code ?? 'unreadable',
    });
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new AccordError('ACCORD_CONFIG_UNREADABLE', { file, reason: (err as Error).message });
  }
}

export function resolveFrom(baseDir: string, path: string): string {
  return isAbsolute(path) ? path : resolve(baseDir, path);
}

/**
 * Validate raw config against `schema`, then let `resolvePaths` rewrite relative paths. Returns a frozen object.
 */
export function parseConfig<S extends z.ZodType>(
  schema: S,
  raw: unknown,
  configFile: string | null,
  resolvePaths: (config: z.infer<S>, baseDir: string) => z.infer<S>,
): Readonly<z.infer<S>> {
  const parsed = schema.safeParse(raw);
  if (!parsed.success)
    throw new AccordError('ACCORD_CONFIG_INVALID', { problems: formatZodIssues(parsed.error) });
  const baseDir = configFile ? dirname(resolve(configFile)) : process.cwd();
  return deepFreeze(resolvePaths(parsed.data as z.infer<S>, baseDir));
}
