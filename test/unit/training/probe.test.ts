import { it, expect } from 'vitest';
import { JobHarness, memberNames } from './job-harness.js';
it('late', async () => {
  const t0 = Date.now();
  const h = new JobHarness({ members: memberNames(5), stageTimeoutMs: 200, lateMs: 250, scripts: {
    'bank-c': { onStep: (c) => c.aggregation.task === 'train' && c.stage === 'setup' ? 'late' : 'answer' },
    'bank-d': { onStep: (c) => c.aggregation.task === 'train' && c.stage === 'consistency_check' ? 'silent' : 'answer' },
   } });
  const end = await h.run();
  console.log(end, Date.now() - t0, h.aggregated.map(a => [a.id.task, a.contributors]), h.stepErrors, [...h.participantErrors]);
});
