/**
 * `accord signals publish|query|screen`: the fraud-signal REST routes from the command line. Talks to a node's REST
 * API (`--url`, default from `--config`'s rest address) with a `risk` token (`--token` or env ACCORD_TOKEN).
 *
 *   accord signals publish --url U --id-kind phone --id "+44 7700 900123" --kind telecom_scam [--at ISO]
 *   accord signals publish --url U --file signals.json        (a JSON array of {idKind, id, kind, at?})
 *   accord signals query   --url U --id-kind phone --id "+44 7700 900123"
 *   accord signals screen  --url U --id-kind phone --file ids.txt   (one id per line; progress bar on stderr)
 */
import { readFileSync } from 'node:fs';
import { loadNodeConfig } from '../../platform/config/index.js';
import { AccordError } from '../../shared/errors/index.js';

export interface SignalsCliOptions {
  readonly url?: string;
  readonly config?: string;
  readonly token?: string;
  readonly idKind?: string;
  readonly id?: string;
  readonly kind?: string;
  readonly at?: string;
  readonly file?: string;
}

function usage(problem: string): never {
  throw new AccordError('ACCORD_USAGE', { problem });
}

function baseUrl(o: SignalsCliOptions): string {
  if (o.url) return o.url.replace(/\/$/, '');
  if (o.config) {
    const c = loadNodeConfig(o.config);
    return `http://${c.rest.host}:${c.rest.port}`;
  }
  return usage('give --url <node REST URL> or --config <node.json>');
}

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked by the caller
async function call(o: SignalsCliOptions, method: string, path: string, body?: unknown): Promise<any> {
  const token = o.token ?? process.env['ACCORD_TOKEN'];
  if (!token) usage('give --token <risk token> or set ACCORD_TOKEN');
  const response = await fetch(`${baseUrl(o)}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? null : JSON.stringify(body),
  });
  const parsed = (await response.json().catch(() => ({}))) as { error?: { code?: string; params?: unknown } };
  if (!response.ok) {
    const e = parsed?.error;
    if (e?.code) throw AccordError.fromWire(e.code, e.params);
    throw new AccordError('ACCORD_INTERNAL');
  }
  return parsed;
}

function progressBar(done: number, total: number): string {
  const width = 30;
  const filled = total ? Math.round((done / total) * width) : width;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`;
}

export async function signalsCommand(sub: string | undefined, o: SignalsCliOptions): Promise<void> {
  const out = (v: unknown) => process.stdout.write(`${JSON.stringify(v, null, 2)}\n`);
  switch (sub) {
    case 'publish': {
      const body = o.file
        ? { signals: JSON.parse(readFileSync(o.file, 'utf8')) }
        : {
            idKind: o.idKind ?? usage('missing --id-kind'),
            id: o.id ?? usage('missing --id'),
            kind: o.kind ?? usage('missing --kind'),
            ...(o.at ? { at: o.at } : {}),
          };
      out(await call(o, 'POST', '/v1/signals', body));
      return;
    }
    case 'query':
      out(
        await call(o, 'POST', '/v1/signals/query', {
          idKind: o.idKind ?? usage('missing --id-kind'),
          id: o.id ?? usage('missing --id'),
        }),
      );
      return;
    case 'screen': {
      const ids = readFileSync(o.file ?? usage('missing --file (one identifier per line)'), 'utf8')
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter(Boolean);
      let job = await call(o, 'POST', '/v1/signals/screen', {
        idKind: o.idKind ?? usage('missing --id-kind'),
        ids,
      });
      const tty = process.stderr.isTTY;
      while (job.state === 'running') {
        process.stderr.write(
          tty ? `\r${progressBar(job.processed, job.total)}` : `${progressBar(job.processed, job.total)}\n`,
        );
        await new Promise((r) => setTimeout(r, 250));
        job = await call(o, 'GET', `/v1/signals/screen/${job.jobId}`);
      }
      process.stderr.write(`${tty ? '\r' : ''}${progressBar(job.processed, job.total)}\n`);
      if (job.state !== 'done') throw AccordError.fromWire(job.errorCode ?? 'ACCORD_INTERNAL', {});
      out({ total: job.total, flagged: job.flagged });
      return;
    }
    default:
      usage('usage: accord signals publish|query|screen --url <node> --token <risk token> ...');
  }
}
