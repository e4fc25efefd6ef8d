/**
 * `npm run bench:train:vertical`: bank-a (label holder) and bank-b train vertical logistic regression over loopback
 * (coordinator and two nodes as processes, mutual TLS, SQLite), aligned by a PSI job first:
 *  1. credit default, 30 000 shared customers (13 + 10 columns), under BFV;
 *  2. the same job with encryption switched off (the coordinator's `verticalEncryption: "none"`, which the nodes of
 *     this benchmark allow): the same protocol, messages and rounds, plaintext stand-ins for ciphertexts;
 *  3. bank marketing propensity, 40 689 shared customers, under BFV.
 * In the same run, the anchor: the project's own plaintext trainer on the joined rows (examples/vertical.ts), same
 * split, same preprocessing, with the job's settings and run to convergence (50 epochs of batches of 256, SGD);
 * the better of the two is `centralizedAuc` (and `marketingCentralizedAuc`).
 *
 * secondsPerEpoch = (job done - job created) / epochs at the label holder, evaluation each epoch included;
 * bytesPerEpoch = what the coordinator received and relayed (ciphertexts, boxes, sums and slots) / epochs, from its
 * audit entry of the job's end. Last line: one JSON object with the figures the issue asks for.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { type LocalConsortium, startLocalConsortium } from '../examples/local-consortium.js';
import {
  alignVertical,
  CREDIT_VERTICAL,
  centralizedVertical,
  importVertical,
  MARKETING_VERTICAL,
  trainVertical,
  type VerticalBankData,
  type VerticalSettings,
} from '../examples/vertical.js';
import { coordinatorAudit } from '../test/helpers/coordinator-audit.js';

const log = (m: string) => process.stderr.write(`${m}\n`);
const round4 = (x: number) => Math.round(x * 10_000) / 10_000;

/** Credit default: plain SGD converges in a few full-size batches (features FATE already scaled). */
const CREDIT: VerticalSettings = {
  epochs: 10,
  batchSize: 8192,
  learningRate: 1,
  optimizer: 'sgd',
  l2: 0,
  validation: { fraction: 0.2, seed: 42 },
};
/** Bank marketing: heavy-tailed counts and 50 one-hot columns; Adam gets there in the same 10 epochs, SGD does not. */
const MARKETING: VerticalSettings = { ...CREDIT, learningRate: 0.1, optimizer: 'adam' };
/** The anchor run to convergence: 50 epochs of batches of 256 (about 6 000 steps), SGD. */
const CONVERGED = { epochs: 50, batchSize: 256, learningRate: 0.1, optimizer: 'sgd' } as const;

async function run(
  c: LocalConsortium,
  banks: readonly VerticalBankData[],
  alignment: string,
  purpose: 'risk' | 'propensity',
  settings: VerticalSettings,
): Promise<{ auc: number; secondsPerEpoch: number; bytesPerEpoch: number; jobId: string }> {
  const job = await trainVertical(c, banks, alignment, settings, purpose, (epoch, auc) =>
    log(`  epoch ${epoch}: validation AUC ${auc?.toFixed(4)}`),
  );
  const seconds = (Date.parse(job.finishedAt) - Date.parse(job.createdAt)) / 1000;
  const end = coordinatorAudit(c).find(
    (e) => e.action === 'training:end' && e.target === `training:${job.id}`,
  );
  const bytes = end ? Number((JSON.parse(end.details) as { bytes?: number }).bytes) : Number.NaN;
  return {
    auc: job.rounds.at(-1).metrics.auc,
    secondsPerEpoch: seconds / settings.epochs,
    bytesPerEpoch: bytes / settings.epochs,
    jobId: job.id,
  };
}

async function centralized(
  c: LocalConsortium,
  banks: readonly VerticalBankData[],
  alignment: string,
  jobId: string,
  settings: VerticalSettings,
): Promise<{ auc: number; secondsPerEpoch: number; sameSettingsAuc: number }> {
  const same = await centralizedVertical(c, banks, alignment, jobId, settings);
  const converged = await centralizedVertical(c, banks, alignment, jobId, { ...settings, ...CONVERGED });
  return {
    auc: Math.max(same.auc, converged.auc),
    secondsPerEpoch: same.secondsPerEpoch,
    sameSettingsAuc: same.auc,
  };
}

async function main(): Promise<void> {
  const c = await startLocalConsortium({
    members: ['bank-a', 'bank-b'],
    configure: (init) => {
      for (const n of init.nodes) {
        const config = JSON.parse(readFileSync(n.config, 'utf8'));
        config.training = { ...config.training, allowUnencryptedVertical: true };
        writeFileSync(n.config, JSON.stringify(config, null, 2));
      }
    },
  });
  try {
    log('credit default: import and PSI alignment ...');
    await importVertical(c, CREDIT_VERTICAL);
    const creditAlignment = await alignVertical(c, CREDIT_VERTICAL);
    log('credit default: vertical LR under BFV ...');
    const credit = await run(c, CREDIT_VERTICAL, creditAlignment, 'risk', CREDIT);
    log(
      `  ${credit.secondsPerEpoch.toFixed(2)} s an epoch, ${(credit.bytesPerEpoch / 2 ** 20).toFixed(1)} MiB an epoch`,
    );
    const creditCentral = await centralized(c, CREDIT_VERTICAL, creditAlignment, credit.jobId, CREDIT);
    log(
      `  centralised ${creditCentral.auc.toFixed(4)} (same settings ${creditCentral.sameSettingsAuc.toFixed(4)})`,
    );

    log('bank marketing: import and PSI alignment ...');
    await importVertical(c, MARKETING_VERTICAL);
    const marketingAlignment = await alignVertical(c, MARKETING_VERTICAL);
    log('bank marketing: vertical LR under BFV ...');
    const marketing = await run(c, MARKETING_VERTICAL, marketingAlignment, 'propensity', MARKETING);
    const marketingCentral = await centralized(
      c,
      MARKETING_VERTICAL,
      marketingAlignment,
      marketing.jobId,
      MARKETING,
    );
    log(
      `  centralised ${marketingCentral.auc.toFixed(4)} (same settings ${marketingCentral.sameSettingsAuc.toFixed(4)})`,
    );

    log('credit default: the same protocol with encryption switched off ...');
    const config = JSON.parse(readFileSync(c.coordinatorConfig, 'utf8'));
    config.training = { ...config.training, verticalEncryption: 'none' };
    writeFileSync(c.coordinatorConfig, JSON.stringify(config, null, 2));
    await c.restartCoordinator();
    await new Promise((r) => setTimeout(r, 3000));
    const plain = await run(c, CREDIT_VERTICAL, creditAlignment, 'risk', CREDIT);
    log(`  ${plain.secondsPerEpoch.toFixed(2)} s an epoch, validation AUC ${plain.auc.toFixed(4)}`);

    console.log(
      JSON.stringify({
        verticalAuc: round4(credit.auc),
        centralizedAuc: round4(creditCentral.auc),
        centralizedSameSettingsAuc: round4(creditCentral.sameSettingsAuc),
        secondsPerEpoch: round4(credit.secondsPerEpoch),
        plaintextSecondsPerEpoch: round4(plain.secondsPerEpoch),
        heOverhead: round4(credit.secondsPerEpoch / plain.secondsPerEpoch),
        centralizedSecondsPerEpoch: round4(creditCentral.secondsPerEpoch),
        bytesPerEpoch: Math.round(credit.bytesPerEpoch),
        plaintextBytesPerEpoch: Math.round(plain.bytesPerEpoch),
        marketingAuc: round4(marketing.auc),
        marketingCentralizedAuc: round4(marketingCentral.auc),
        marketingSecondsPerEpoch: round4(marketing.secondsPerEpoch),
        epochs: CREDIT.epochs,
        batchSize: CREDIT.batchSize,
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
