/**
 * A run's eligibility list, streamed as CSV or NDJSON: one line per decision, in row-key order, read from the store a
 * page at a time as the client reads (backpressure through the async generator), never the whole list in memory.
 * Columns: customer id, eligible, tier, propensity, risk, price, channel, reason (a stable key) and reasons (text);
 * in CSV a text cell a spreadsheet would run as a formula is prefixed with a single quote (`csvField`).
 * Each page is re-checked against consent and do-not-contact as they are now (list-recheck.ts): a customer eligible
 * at the run who withdrew or was listed since is exported as not eligible, with that reason. A failure mid-stream
 * (the 200 is already sent) ends the stream in error and is logged with its code and the run, never an id.
 * Everything in it is this bank's own: its customer ids and columns, the scores this node computed (for a joint
 * model the label holder's joint score), its prices; nothing of another bank's raw data.
 */
import { Readable } from 'node:stream';
import type { Logger } from '../../platform/log/logger.js';
import type { CampaignRunStore, StoredDecision } from '../../platform/store/campaign-types.js';
import { toAccordError } from '../../primitives/errors/index.js';
import { type RecheckDeps, recheckPage } from './list-recheck.js';
import { REASON_KEY, reasonTexts } from '../../primitives/campaigns/reasons.js';
import type { CampaignSpec } from '../../primitives/campaigns/spec.js';

export const EXPORT_FORMATS = ['csv', 'ndjson'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const EXPORT_CONTENT_TYPES: Readonly<Record<ExportFormat, string>> = {
  csv: 'text/csv; charset=utf-8',
  ndjson: 'application/x-ndjson; charset=utf-8',
};

const PAGE = 2_000;
const CSV_HEADER = 'customer_id,eligible,tier,propensity,risk,price,channel,reason,reasons\n';

/** What a spreadsheet may run as a formula when a text cell starts with it (CSV injection, OWASP). */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * One CSV field, quoted when it holds a comma, quote or line break (RFC 4180). A text cell that a spreadsheet would
 * read as a formula (starting with = + - @, a tab or a carriage return) gets a leading single quote, so opening the
 * list runs nothing; numbers and booleans are written as they are.
 */
export function csvField(value: string | number | boolean | null): string {
  if (value === null) return '';
  let s = String(value);
  if (typeof value === 'string' && FORMULA_START.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function row(spec: CampaignSpec, d: StoredDecision) {
  return {
    customerId: d.customerId,
    eligible: d.reason === 0,
    tier: spec.tiers[d.tier]?.tier ?? null,
    propensity: d.propensity,
    risk: d.risk,
    price: d.price,
    channel: d.channel >= 0 ? (spec.channels[d.channel] ?? null) : null,
    reason: REASON_KEY[d.reason] ?? String(d.reason),
    reasons: reasonTexts(d.passed, d.reason, {
      spec,
      propensity: d.propensity,
      risk: d.risk,
      cap: d.cap >= 0 ? d.cap : null,
    }),
  };
}

export interface ExportDeps extends RecheckDeps {
  readonly runs: CampaignRunStore;
  /** Where a failure mid-stream is reported (the response has begun: the client sees only a cut-off list). */
  readonly log: Logger;
}

/** Streams a done run's decisions as they stand now (only the eligible ones if asked). */
export function exportDecisions(
  deps: ExportDeps,
  runId: string,
  spec: CampaignSpec,
  format: ExportFormat,
  eligibleOnly: boolean,
): Readable {
  async function* lines(): AsyncGenerator<string> {
    try {
      yield* pages();
    } catch (err) {
      // The status line has gone out as 200: without this an operator would see a cut-off list as a success. The
      // entry carries the run and the coded error only, never a customer id or a value.
      deps.log.error('campaign list export failed', { run: runId, code: toAccordError(err).code });
      throw err;
    }
  }
  async function* pages(): AsyncGenerator<string> {
    if (format === 'csv') yield CSV_HEADER;
    for await (const stored of deps.runs.iterateDecisions(runId, PAGE, eligibleOnly)) {
      const page = await recheckPage(deps, spec, stored);
      let chunk = '';
      for (const d of page) {
        if (eligibleOnly && d.reason !== 0) continue;
        const r = row(spec, d);
        chunk +=
          format === 'ndjson'
            ? `${JSON.stringify(r)}\n`
            : `${[r.customerId, r.eligible, r.tier, r.propensity, r.risk, r.price, r.channel, r.reason, r.reasons.join('; ')].map(csvField).join(',')}\n`;
      }
      yield chunk;
    }
  }
  return Readable.from(lines(), { objectMode: false });
}
