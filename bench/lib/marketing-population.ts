/**
 * A large customer population for the eligibility benchmark, built by resampling the real UCI bank-marketing rows
 * (examples/data/bank_marketing_bank.csv) with fresh resident identity numbers, and the bank's consent records and
 * do-not-contact list for it. Deterministic for a seed, written straight to files (never held whole in memory).
 *
 * A fresh id keeps the original row's region code (first 6 digits) and a birth date agreeing with the row's age on
 * the reference date, takes a new sequence code, and ends with its GB 11643-1999 check character (ISO 7064 MOD 11-2),
 * so the minors rule reads the same age from the id as the `age` column says.
 */
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { SeededRandom } from '../../models/random.js';

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2] as const;
const CHECK = '10X98765432';

/** The check character of the first 17 digits of a resident identity number. */
export function residentIdCheck(first17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * WEIGHTS[i]!;
  return CHECK[sum % 11]!;
}

export interface PopulationFiles {
  readonly customers: string;
  readonly consent: string;
  readonly doNotContact: string;
  readonly rows: number;
  /** Some of the fresh ids (for real-time requests and fraud flags). */
  readonly sampleIds: readonly string[];
}

async function write(stream: WriteStream, text: string): Promise<void> {
  if (!stream.write(text)) await once(stream, 'drain');
}

async function close(stream: WriteStream): Promise<void> {
  stream.end();
  await once(stream, 'finish');
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');

/**
 * Writes `rows` customers (the bank file's columns, id `national_id`), one consent record per customer for `purpose`
 * (80% granted, 12% withdrawn, 8% granted but expired; expiry dates relative to `referenceDate`) and a
 * do-not-contact list of about 1% of them.
 */
export async function writeMarketingPopulation(options: {
  readonly source: string;
  readonly dir: string;
  readonly rows: number;
  readonly purpose: string;
  readonly referenceDate: Date;
  readonly seed: string;
  readonly samples?: number;
}): Promise<PopulationFiles> {
  const lines = readFileSync(options.source, 'utf8').split(/\r?\n/).filter(Boolean);
  const header = lines[0]!;
  const body = lines.slice(1);
  const columns = header.split(',');
  const idAt = columns.indexOf('national_id');
  const ageAt = columns.indexOf('age');
  const random = new SeededRandom(options.seed);
  const files = {
    customers: `${options.dir}/customers.csv`,
    consent: `${options.dir}/consent.csv`,
    doNotContact: `${options.dir}/do-not-contact.csv`,
  };
  const customers = createWriteStream(files.customers);
  const consent = createWriteStream(files.consent);
  const dnc = createWriteStream(files.doNotContact);
  await write(customers, `${header}\n`);
  await write(consent, 'customer_id,purpose,status,expires_at\n');
  await write(dnc, 'customer_id\n');
  const year = options.referenceDate.getUTCFullYear();
  const future = `${year + 1}-12-31T00:00:00Z`;
  const past = `${year - 1}-06-30T00:00:00Z`;
  const sampleEvery = Math.max(1, Math.floor(options.rows / (options.samples ?? 1000)));
  const sampleIds: string[] = [];
  for (let i = 0; i < options.rows; i++) {
    const cells = body[random.below(body.length)]!.split(',');
    const age = Number(cells[ageAt]);
    const month = 1 + Math.floor(random.uniform() * 12);
    const day = 1 + Math.floor(random.uniform() * 28);
    // Born `age` years before the reference date, a birthday already passed this year (months before it).
    const born = year - age - (month > options.referenceDate.getUTCMonth() + 1 ? 1 : 0);
    // The sequence code is the row number's low digits and the region its high ones: unique for up to 10^9 rows.
    const region = `${cells[idAt]!.slice(0, 2)}${pad(Math.floor(i / 1000) % 10000, 4)}`;
    const first17 = `${region}${born}${pad(month, 2)}${pad(day, 2)}${pad(i % 1000, 3)}`;
    const id = `${first17}${residentIdCheck(first17)}`;
    cells[idAt] = id;
    await write(customers, `${cells.join(',')}\n`);
    const r = random.uniform();
    const status = r < 0.8 ? 'granted' : r < 0.92 ? 'withdrawn' : 'granted';
    const expires = r < 0.92 ? future : past;
    await write(consent, `${id},${options.purpose},${status},${expires}\n`);
    if (random.uniform() < 0.01) await write(dnc, `${id}\n`);
    if (i % sampleEvery === 0) sampleIds.push(id);
  }
  await Promise.all([close(customers), close(consent), close(dnc)]);
  return { ...files, rows: options.rows, sampleIds };
}
