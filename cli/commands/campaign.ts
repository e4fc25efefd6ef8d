/**
 * `accord campaign create|update|submit|approve|reject|limits|run|show|why|export`: the campaign workflow from the
 * command line, each step with the token of the role that may take it (tokens.json next to the node config, or
 * --token): marketing writes, submits, runs and exports; a reviewer other than the author approves or rejects; the
 * risk team sets a product's pricing limits. `run` follows the run with a progress bar and prints its funnel; `export`
 * streams the eligibility list to a file or stdout.
 */
import { createWriteStream, readFileSync } from 'node:fs';
import { AccordError } from '../../primitives/errors/index.js';
import type { Role } from '../../primitives/consortium/roles.js';
import { type NodeApi, type NodeApiOptions, nodeApi } from '../node-api.js';
import { ProgressBar } from '../progress.js';

export interface CampaignCommand {
  readonly connection: Omit<NodeApiOptions, 'roles'>;
  readonly id?: string | undefined;
  readonly spec?: string | undefined;
  readonly comment?: string | undefined;
  readonly run?: string | undefined;
  readonly customer?: string | undefined;
  readonly format?: string | undefined;
  readonly out?: string | undefined;
  readonly floor?: string | undefined;
  readonly ceiling?: string | undefined;
  readonly maxPd?: string | undefined;
}

interface RunView {
  id: string;
  state: 'running' | 'done' | 'failed';
  phase: string;
  progress: { processed: number; total: number };
  funnel: Funnel | null;
  error: { code: string; message: string } | null;
}

interface Funnel {
  population: number;
  steps: { rule: string; applied: boolean; remaining: number; excluded: number }[];
  eligible: number;
  tiers: { tier: string; population: number; eligible: number }[];
  priceBands: { from: number; to: number; eligible: number }[];
  channels: { channel: string; eligible: number }[];
}

function usage(problem: string): never {
  throw new AccordError('ACCORD_USAGE', { problem });
}

function need<T>(value: T | undefined, flag: string): T {
  if (value === undefined || value === '') usage(`missing ${flag}`);
  return value;
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    return usage(`--spec ${file}: ${(err as Error).message}`);
  }
}

function numberFlag(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) usage(`${flag} must be a number`);
  return n;
}

const out = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);
const pad = (n: number) => n.toLocaleString('en').padStart(10);

/** The funnel as a marketer reads it: population, what each rule left, the eligible by tier, price band and channel. */
export function formatFunnel(f: Funnel): string {
  const lines = [`population ${pad(f.population)}`];
  for (const s of f.steps.filter((step) => step.applied))
    lines.push(
      `  ${s.rule.padEnd(22)} ${pad(s.remaining)} remain  (${s.excluded.toLocaleString('en')} excluded)`,
    );
  lines.push(`eligible   ${pad(f.eligible)}`);
  lines.push(
    `  by tier:       ${f.tiers.map((t) => `${t.tier} ${t.eligible.toLocaleString('en')}/${t.population.toLocaleString('en')}`).join(', ')}`,
  );
  lines.push(
    `  by price band: ${f.priceBands
      .filter((b) => b.eligible > 0)
      .map((b) => `[${b.from.toFixed(2)}, ${b.to.toFixed(2)}) ${b.eligible.toLocaleString('en')}`)
      .join(', ')}`,
  );
  lines.push(
    `  by channel:    ${f.channels.map((c) => `${c.channel} ${c.eligible.toLocaleString('en')}`).join(', ')}`,
  );
  return `${lines.join('\n')}\n`;
}

async function followRun(api: NodeApi, campaign: string, started: RunView): Promise<RunView> {
  const bar = new ProgressBar('run');
  let run = started;
  try {
    for (;;) {
      bar.update(run.progress.processed, run.progress.total, run.phase);
      if (run.state !== 'running') break;
      await new Promise((r) => setTimeout(r, 250));
      run = await api.call<RunView>('GET', `/v1/campaigns/${campaign}/runs/${run.id}`);
    }
  } finally {
    bar.finish();
  }
  if (run.state !== 'done') throw AccordError.fromWire(run.error?.code ?? 'ACCORD_INTERNAL', {});
  return run;
}

export async function campaignCommand(action: string | undefined, command: CampaignCommand): Promise<void> {
  const api = (...roles: Role[]) => nodeApi({ ...command.connection, roles });
  const id = () => need(command.id, '<campaign id>');
  const path = () => `/v1/campaigns/${encodeURIComponent(id())}`;
  switch (action) {
    case 'create':
      out(await api('marketing').call('POST', '/v1/campaigns', readJson(need(command.spec, '--spec'))));
      return;
    case 'update':
      out(await api('marketing').call('PUT', path(), readJson(need(command.spec, '--spec'))));
      return;
    case 'submit':
      out(await api('marketing').call('POST', `${path()}/submit`, {}));
      return;
    case 'approve':
      out(
        await api('reviewer').call(
          'POST',
          `${path()}/approve`,
          command.comment ? { comment: command.comment } : {},
        ),
      );
      return;
    case 'reject':
      out(
        await api('reviewer').call('POST', `${path()}/reject`, {
          comment: need(command.comment, '--comment'),
        }),
      );
      return;
    case 'limits': {
      const maxPd = numberFlag(command.maxPd, '--max-pd');
      out(
        await api('risk').call('PUT', `/v1/pricing-limits/${encodeURIComponent(id())}`, {
          floor: need(numberFlag(command.floor, '--floor'), '--floor'),
          ceiling: need(numberFlag(command.ceiling, '--ceiling'), '--ceiling'),
          ...(maxPd === undefined ? {} : { maxProbabilityOfDefault: maxPd }),
        }),
      );
      return;
    }
    case 'show':
      out(await api('marketing', 'reviewer', 'risk', 'admin').call('GET', path()));
      return;
    case 'run': {
      const marketing = api('marketing');
      const started = await marketing.call<RunView>('POST', `${path()}/runs`, {});
      process.stderr.write(`campaign run ${started.id}\n`);
      const run = await followRun(marketing, id(), started);
      if (run.funnel) process.stdout.write(formatFunnel(run.funnel));
      out({ run: run.id, state: run.state, eligible: run.funnel?.eligible ?? null });
      return;
    }
    case 'why':
      out(
        await api('marketing', 'reviewer', 'risk').call(
          'GET',
          `${path()}/runs/${encodeURIComponent(need(command.run, '--run'))}/decisions/${encodeURIComponent(need(command.customer, '--customer'))}`,
        ),
      );
      return;
    case 'export': {
      const format = command.format ?? 'csv';
      if (format !== 'csv' && format !== 'ndjson') usage('--format must be csv or ndjson');
      const target = command.out ? createWriteStream(command.out) : process.stdout;
      const bytes = await api('marketing').download(
        `${path()}/runs/${encodeURIComponent(need(command.run, '--run'))}/export?format=${format}`,
        target,
      );
      if (command.out) process.stderr.write(`wrote ${bytes.toLocaleString('en')} bytes to ${command.out}\n`);
      return;
    }
    default:
      usage(
        'usage: accord campaign create|update|submit|approve|reject|limits|show|run|why|export (see accord help)',
      );
  }
}
