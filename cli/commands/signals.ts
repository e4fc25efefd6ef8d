/**
 * `accord signals publish|query|screen`: the fraud-signal REST routes from the command line. Talks to a node's REST
 * API (`--config` or `--url`) with a `risk` token (`--token`, env ACCORD_TOKEN, or the tokens.json next to the config).
 *
 *   accord signals publish --config node.json --id-kind phone --id "+44 7700 900123" --kind telecom_scam [--at ISO]
 *   accord signals publish --config node.json --file signals.json   (a JSON array of {idKind, id, kind, at?})
 *   accord signals publish --config node.json --file past.json --historical   (an import of past signals: admin)
 *   accord signals query   --config node.json --id-kind phone --id "+44 7700 900123"
 *   accord signals screen  --config node.json --id-kind phone --file ids.txt   (one id per line; progress bar)
 */
import { readFileSync } from 'node:fs';
import { AccordError } from '../../primitives/errors/index.js';
import { nodeApi } from '../node-api.js';
import { ProgressBar } from '../progress.js';

export interface SignalsCliOptions {
  readonly url?: string;
  readonly config?: string;
  readonly token?: string;
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly idKind?: string;
  readonly id?: string;
  readonly kind?: string;
  readonly at?: string;
  readonly file?: string;
  /** Publish as a historical import (dated back to the retention period), with the admin token. */
  readonly historical?: boolean;
}

function usage(problem: string): never {
  throw new AccordError('ACCORD_USAGE', { problem });
}

export async function signalsCommand(sub: string | undefined, o: SignalsCliOptions): Promise<void> {
  const out = (v: unknown) => process.stdout.write(`${JSON.stringify(v, null, 2)}\n`);
  const api = nodeApi({
    config: o.config,
    url: o.url,
    token: o.token,
    ca: o.ca,
    cert: o.cert,
    key: o.key,
    roles: o.historical ? ['admin'] : ['risk'],
  });
  const call = (_o: SignalsCliOptions, method: string, path: string, body?: unknown) =>
    // biome-ignore lint/suspicious/noExplicitAny: response bodies are printed or checked field by field
    api.call<any>(method, path, body);
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
      out(await call(o, 'POST', o.historical ? '/v1/signals/historical' : '/v1/signals', body));
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
      const bar = new ProgressBar('screen');
      while (job.state === 'running') {
        bar.update(job.processed, job.total);
        await new Promise((r) => setTimeout(r, 250));
        job = await call(o, 'GET', `/v1/signals/screen/${job.jobId}`);
      }
      bar.update(job.processed, job.total, job.state);
      bar.finish();
      if (job.state !== 'done') throw AccordError.fromWire(job.errorCode ?? 'ACCORD_INTERNAL', {});
      out({ total: job.total, flagged: job.flagged });
      return;
    }
    default:
      usage('usage: accord signals publish|query|screen --config <node.json> ...');
  }
}
