/**
 * Secure-aggregation cost, in process: every client (SecAggClient) and the coordinator (SecAggServer) of one round
 * run sequentially in this one process (the bench machine has 2 cores), with Ed25519 signatures standing in for the
 * member certificate keys. Not part of the test run.
 *
 * `secaggRoundMs` returns medians over `repeats` rounds of: the whole round (every client's and the server's work
 * added up: what one machine would spend running them all), each client's own work, the server's, and the
 * plain sum of the same vectors (what aggregation without SecAgg costs). Of the participants, `dropFraction` drop:
 * half of them before sending their masked vector (the server rebuilds their mask keys and strips their pairwise
 * masks), half after (the server rebuilds their self-mask seeds from the others' shares).
 *
 * Run directly for the figures the issue asks for (about half a minute):
 *   node --import tsx bench/lib/secagg-sim.ts
 */
import { generateKeyPairSync, type KeyObject, randomFillSync, sign, verify } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { SecAggClient } from '../../primitives/secagg/client.js';
import { planRound } from '../../primitives/secagg/neighbours.js';
import type { VerifySignature } from '../../primitives/secagg/protocol.js';
import { addInPlace } from '../../primitives/secagg/ring.js';
import { SecAggServer } from '../../primitives/secagg/server.js';

export interface SecAggSimOptions {
  readonly clients: number;
  readonly lanes: number;
  /** Fraction of the clients that drop (half before, half after sending their masked vector). */
  readonly dropFraction: number;
  readonly repeats: number;
}

export interface SecAggSimResult {
  readonly clients: number;
  readonly lanes: number;
  readonly dropped: number;
  readonly neighbours: number;
  readonly threshold: number;
  /** Median ms of the whole round: all clients' work plus the server's (wall clock). */
  readonly roundMs: number;
  /** Median CPU ms (user + system, this process) of the whole round: less sensitive to other load on the machine. */
  readonly roundCpuMs: number;
  /** Median over rounds of the mean per-client work, ms. */
  readonly perClientMs: number;
  /** Median over rounds of the slowest client's work, ms. */
  readonly maxClientMs: number;
  /** Median ms of the server's work. */
  readonly serverMs: number;
  /** Median ms of summing the plain vectors (aggregation without SecAgg). */
  readonly plainSumMs: number;
  /** Time a deployment adds per round with clients in parallel: server + slowest client - plain sum. */
  readonly addedParallelMs: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function names(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `bank-${String(i).padStart(3, '0')}`);
}

interface Round {
  round: number;
  cpu: number;
  perClient: number[];
  server: number;
  plain: number;
}

function runRound(
  participants: string[],
  inputs: Map<string, Uint32Array>,
  lanes: number,
  round: number,
  dropBefore: Set<string>,
  dropAfter: Set<string>,
  keys: Map<string, { privateKey: KeyObject; publicKey: KeyObject }>,
): Round {
  const cpuStart = process.cpuUsage();
  const plan = planRound({ session: 'bench', round, participants, lanes });
  const verifySig: VerifySignature = (member, message, signature) =>
    verify(null, message, keys.get(member)!.publicKey, signature);
  const signAs = (member: string, message: Uint8Array) =>
    new Uint8Array(sign(null, message, keys.get(member)!.privateKey));
  const clients = new Map(participants.map((m) => [m, new SecAggClient(plan, m)]));
  const work = new Map(participants.map((m) => [m, 0]));
  let server = 0;
  const asClient = <T>(m: string, fn: () => T): T => {
    const t = performance.now();
    const out = fn();
    work.set(m, work.get(m)! + performance.now() - t);
    return out;
  };
  const asServer = <T>(fn: () => T): T => {
    const t = performance.now();
    const out = fn();
    server += performance.now() - t;
    return out;
  };

  const coordinator = asServer(() => new SecAggServer(plan));
  for (const m of participants) {
    const signed = asClient(m, () => {
      const { keys: k, toSign } = clients.get(m)!.advertiseKeys();
      return { ...k, signature: signAs(m, toSign) };
    });
    asServer(() => coordinator.receiveKeys(m, signed));
  }
  const keysFor = asServer(() => coordinator.endSetup());
  for (const [m, relayed] of keysFor) {
    const boxes = asClient(m, () => clients.get(m)!.shareKeys(relayed, verifySig));
    asServer(() => coordinator.receiveBoxes(m, boxes));
  }
  const boxesFor = asServer(() => coordinator.endShareKeys());
  for (const [m, boxes] of boxesFor) {
    if (dropBefore.has(m)) continue;
    const y = asClient(m, () => clients.get(m)!.maskedVector(inputs.get(m)!, boxes));
    asServer(() => coordinator.receiveMaskedVector(m, y));
  }
  const survivors = asServer(() => coordinator.endCollection());
  for (const m of survivors) {
    if (dropAfter.has(m)) continue;
    const signature = asClient(m, () => signAs(m, clients.get(m)!.consistencyCheck(survivors)));
    asServer(() => coordinator.receiveSurvivorSignature(m, signature));
  }
  const requests = asServer(() => coordinator.endConsistencyCheck());
  for (const [m, request] of requests) {
    const response = asClient(m, () => clients.get(m)!.unmask(request, verifySig));
    asServer(() => coordinator.receiveUnmask(m, response));
  }
  const { sum } = asServer(() => coordinator.finish());
  const cpuUsed = process.cpuUsage(cpuStart);

  const t = performance.now();
  const plainSum = new Uint32Array(lanes);
  for (const m of survivors) addInPlace(plainSum, inputs.get(m)!);
  const plain = performance.now() - t;
  for (let i = 0; i < lanes; i++) if (sum[i] !== plainSum[i]) throw new Error('the secure sum is wrong');
  return { round, cpu: (cpuUsed.user + cpuUsed.system) / 1000, perClient: [...work.values()], server, plain };
}

/** Runs `repeats` full rounds (after one warm-up) and returns the medians described in the module comment. */
export async function secaggRoundMs(opts: SecAggSimOptions): Promise<SecAggSimResult> {
  const participants = names(opts.clients);
  const dropCount = Math.round(opts.clients * opts.dropFraction);
  // Spread the dropped evenly over the sorted names, alternating before / after their masked vector.
  const step = opts.clients / Math.max(1, dropCount);
  const dropping = Array.from({ length: dropCount }, (_, i) => participants[Math.floor(i * step)]!);
  const dropBefore = new Set(dropping.filter((_, i) => i % 2 === 0));
  const dropAfter = new Set(dropping.filter((_, i) => i % 2 === 1));
  const keys = new Map(participants.map((m) => [m, generateKeyPairSync('ed25519')]));
  const inputs = new Map(participants.map((m) => [m, randomFillSync(new Uint32Array(opts.lanes))]));

  const rounds: Round[] = [];
  for (let r = 0; r <= opts.repeats; r++) {
    const round = runRound(participants, inputs, opts.lanes, r, dropBefore, dropAfter, keys);
    if (r > 0) rounds.push(round); // round 0 warms up the JIT and OpenSSL
    await new Promise((resolve) => setImmediate(resolve));
  }
  const plan = planRound({ session: 'bench', round: 0, participants, lanes: opts.lanes });
  const serverMs = median(rounds.map((r) => r.server));
  const maxClientMs = median(rounds.map((r) => Math.max(...r.perClient)));
  const plainSumMs = median(rounds.map((r) => r.plain));
  return {
    clients: opts.clients,
    lanes: opts.lanes,
    dropped: dropCount,
    neighbours: plan.neighbourCount,
    threshold: plan.threshold,
    roundMs: median(rounds.map((r) => r.server + r.perClient.reduce((a, b) => a + b, 0))),
    roundCpuMs: median(rounds.map((r) => r.cpu)),
    perClientMs: median(rounds.map((r) => r.perClient.reduce((a, b) => a + b, 0) / r.perClient.length)),
    maxClientMs,
    serverMs,
    plainSumMs,
    addedParallelMs: serverMs + maxClientMs - plainSumMs,
  };
}

async function main(): Promise<void> {
  const round2 = (x: number) => Math.round(x * 100) / 100;
  const show = (r: SecAggSimResult) =>
    console.log(
      JSON.stringify(
        Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'number' ? round2(v) : v])),
      ),
    );
  console.log('# 3 nodes, nobody dropping');
  for (const lanes of [100_000, 1_000_000])
    show(await secaggRoundMs({ clients: 3, lanes, dropFraction: 0, repeats: 5 }));
  console.log('# 10 to 100 clients, 10% dropping, 10 000 lanes');
  const scaling: SecAggSimResult[] = [];
  for (const clients of [10, 20, 50, 100]) {
    const r = await secaggRoundMs({ clients, lanes: 10_000, dropFraction: 0.1, repeats: 3 });
    scaling.push(r);
    show(r);
  }
  const first = scaling[0]!;
  const last = scaling.at(-1)!;
  const nLogN = (n: number) => n * Math.log2(n);
  console.log(
    JSON.stringify({
      perClientGrowth: round2(last.perClientMs / first.perClientMs),
      roundGrowth: round2(last.roundMs / first.roundMs),
      roundCpuGrowth: round2(last.roundCpuMs / first.roundCpuMs),
      nLogNGrowth: round2(nLogN(last.clients) / nLogN(first.clients)),
    }),
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
