/**
 * `npm run bench:train:trees`: bank-a (label holder) and bank-b train vertical boosted trees (SecureBoost under BFV,
 * primitives/vertical/secureboost.ts) over loopback (coordinator and two nodes as processes, mutual TLS, SQLite),
 * aligned by a PSI job first:
 *  1. credit default, 30 000 shared customers (13 + 10 columns), 25 trees of depth 5;
 *  2. bank marketing propensity, 40 689 shared customers, the same model.
 * In the same run, the anchor: the project's own plaintext boosted trees on the joined rows (examples/trees.ts), same
 * split, same features, bins and hyper-parameters (`plaintextAuc`, `plaintextSecondsPerTree`).
 *
 * secondsTotal = job done − job created at the label holder (every round, every tree's validation included);
 * bytesPerTree = what the coordinator received and relayed (boxes and keys) / trees, from its audit entry of the
 * job's end. Goal: 25 trees in under 60 s. Last line: one JSON object with the figures the issue asks for.
 */
import { startLocalConsortium } from '../examples/local-consortium.js';
import { centralizedTrees, TREES_25, trainTrees } from '../examples/trees.js';
import { alignVertical, CREDIT_VERTICAL, importVertical, MARKETING_VERTICAL } from '../examples/vertical.js';
import { coordinatorAudit } from '../test/helpers/coordinator-audit.js';

const log = (m: string) => process.stderr.write(`${m}\n`);
const round4 = (x: number) => Math.round(x * 10_000) / 10_000;

async function main(): Promise<void> {
  const c = await startLocalConsortium({ members: ['bank-a', 'bank-b'] });
  try {
    log('credit default: import and PSI alignment ...');
    await importVertical(c, CREDIT_VERTICAL);
    const credit = await alignVertical(c, CREDIT_VERTICAL);
    log(`credit default: ${TREES_25.trees} trees of depth ${TREES_25.depth} under BFV ...`);
    const job = await trainTrees(c, CREDIT_VERTICAL, credit, TREES_25, 'risk', (tree, auc) =>
      log(`  tree ${tree}: validation AUC ${auc?.toFixed(4)}`),
    );
    const secondsTotal = (Date.parse(job.finishedAt) - Date.parse(job.createdAt)) / 1000;
    const end = coordinatorAudit(c).find(
      (e) => e.action === 'training:end' && e.target === `training:${job.id}`,
    );
    const bytes = end ? Number((JSON.parse(end.details) as { bytes?: number }).bytes) : Number.NaN;
    const trees = job.rounds.length;
    const auc = job.rounds.at(-1).metrics.auc;
    log(
      `  ${secondsTotal.toFixed(1)} s, ${(bytes / trees / 2 ** 20).toFixed(1)} MiB a tree, AUC ${auc.toFixed(4)}`,
    );
    const anchor = await centralizedTrees(c, CREDIT_VERTICAL, credit, TREES_25, job.spec.initSeed);
    log(`  plaintext anchor: AUC ${anchor.auc.toFixed(4)}, ${anchor.secondsPerTree.toFixed(3)} s a tree`);

    log('bank marketing: import and PSI alignment ...');
    await importVertical(c, MARKETING_VERTICAL);
    const marketing = await alignVertical(c, MARKETING_VERTICAL);
    log(`bank marketing: ${TREES_25.trees} trees of depth ${TREES_25.depth} under BFV ...`);
    const marketingJob = await trainTrees(
      c,
      MARKETING_VERTICAL,
      marketing,
      TREES_25,
      'propensity',
      (tree, a) => log(`  tree ${tree}: validation AUC ${a?.toFixed(4)}`),
    );
    const marketingAuc = marketingJob.rounds.at(-1).metrics.auc;
    const marketingAnchor = await centralizedTrees(
      c,
      MARKETING_VERTICAL,
      marketing,
      TREES_25,
      marketingJob.spec.initSeed,
    );
    log(`  AUC ${marketingAuc.toFixed(4)}, plaintext anchor ${marketingAnchor.auc.toFixed(4)}`);

    console.log(
      JSON.stringify({
        trees,
        depth: TREES_25.depth,
        auc: round4(auc),
        plaintextAuc: round4(anchor.auc),
        secondsTotal: round4(secondsTotal),
        secondsPerTree: round4(secondsTotal / trees),
        plaintextSecondsPerTree: round4(anchor.secondsPerTree),
        bytesPerTree: Math.round(bytes / trees),
        marketingAuc: round4(marketingAuc),
        marketingPlaintextAuc: round4(marketingAnchor.auc),
      }),
    );
  } finally {
    await c.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
