#!/usr/bin/env node
/**
 * The `accord` command line. Each command lives in `commands/`; this file parses flags and dispatches.
 */
import { parseArgs } from 'node:util';
import { AccordError } from '../primitives/errors/index.js';
import { auditAnchors, auditVerify } from './commands/audit.js';
import { initConsortium } from './commands/init.js';
import { runPsi } from './commands/psi.js';
import { runTrain, trainBodyFromFlags } from './commands/train.js';
import { campaignCommand } from './commands/campaign.js';
import { runScore } from './commands/score.js';
import { runCoordinator, runNode } from './commands/serve.js';
import { signalsCommand } from './commands/signals.js';
import { quotaCommand } from './commands/quota.js';
import { revokeMember } from './commands/revoke.js';
import { reportError } from './output.js';

const HELP = `accord: partner banks compute together without showing each other their data

  accord init <dir> --members bank-a,bank-b [--consortium name] [--coordinator-port 7443] [--rest-port 8081]
             [--rest-tls] [--force]
      create a development consortium: CA, certificates, configs and API tokens
      (--rest-tls: each node's REST API serves HTTPS with a certificate from the consortium CA)
  accord coordinator --config <file>
      run the coordinator (gRPC over mutual TLS); SIGHUP reloads its revocation list
  accord revoke <dir> --member bank-c
      development consortium: add the member's certificate to the CA's revocation list and point the coordinator at it
  accord node --config <file> [--coordinator host:port] [--rest-port N]
      run a bank's node (REST API + link to the coordinator)
  accord signals publish|query|screen --config <node.json> [--url U --token T] --id-kind phone --id <id> [--kind k] [--at t] [--file f]
      share fraud signals: publish one (or --file JSON array), query one, screen a file of ids (one per line);
      publish --historical imports past signals (admin token)
  accord signals quota show|grant --config <coordinator.json> [--member m] [--add N --days D --reason text]
      the consortium operator's view of members' daily quotas on new identifiers; grant raises one for a while
  accord audit verify --config <node.json> [--coordinator host:port] [--offline]
      check the hash chain of the node's audit log, and that it still holds every head the coordinator anchored
      (--offline: the chain only; a log rewritten and re-sealed as a whole then passes)
  accord audit verify --config <coordinator.json> [--anchors <file>]...
      the same for the coordinator's log, against heads exported from nodes with \`accord audit anchors\`
  accord audit anchors --config <node.json>
      print (JSON) the coordinator's audit heads this node anchored
  accord psi --config <node.json> --peer bank-b [--peer bank-c] --dataset <name> [--column id] [--kind customer_id]
             [--mode intersection|cardinality] [--reveal initiator|all] [--url http://..] [--token T]
      private set intersection with other banks, with a progress bar
  accord train --config <node.json> --peer bank-b [--peer bank-c] --dataset <name> --label y [--model logistic|mlp]
             [--hidden 32] [--rounds N] [--local-epochs N] [--batch-size N] [--learning-rate R] [--min-participants N]
             [--purpose risk|propensity] [--validation-fraction F --seed S] [--features a,b,c] [--spec job.json]
      horizontal federated training with secure aggregation, with a progress bar per round; prints the model id
  accord train --config <node.json> --alignment <psi job> --peer bank-b [--peer bank-c] --label y [--epochs N]
             [--batch-size N] [--learning-rate R] [--optimizer sgd|adam] [--purpose risk|propensity] [--spec job.json]
      vertical federated training (this bank holds the label; the peers hold other columns of the customers the PSI
      job aligned) under homomorphic encryption, with a progress bar per epoch; prints this bank's model part
  accord score --config <node.json> --model <id> [--dataset <name> | --alignment <psi job>]
      score a population with a registered model (a vertical model: with the partners' partial logits of the aligned
      customers), with a progress bar; --customer <id> scores one customer now instead
  accord campaign create|update --config <node.json> [<id>] --spec campaign.json      (marketing)
  accord campaign submit <id> --config <node.json>                                     (marketing)
  accord campaign approve <id> [--comment text] | reject <id> --comment text          (reviewer, not the author)
  accord campaign limits <product> --floor R --ceiling R [--max-pd P]                  (risk)
  accord campaign run <id> --config <node.json>                                        (marketing)
      run an approved campaign with a progress bar; prints the funnel (population -> each rule -> eligible)
  accord campaign why <id> --run <run> --customer <id>
      the rules a customer passed and the first it failed, with the reason
  accord campaign export <id> --run <run> [--format csv|ndjson] [--out file]
      stream the eligibility list (customer, tier, scores, price, channel, reasons)

  Reaching a node whose REST API serves HTTPS (rest.tls in its config; the URL is then https://):
    --ca <file>                verify the node against this CA (default: the node config's tls.ca, the consortium CA)
    --cert <file> --key <file> client certificate, for nodes that ask for one (rest.tls.clientCa)
`;

function need(value: string | undefined, flag: string): string {
  if (!value) throw new AccordError('ACCORD_USAGE', { problem: `missing ${flag}` });
  return value;
}

function intFlag(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new AccordError('ACCORD_USAGE', { problem: `${flag} must be a port number` });
  return n;
}

/** How a command reaches the node: its config (tokens.json beside it) or --url/--token, and TLS flags. */
function connection(values: Record<string, string | string[] | boolean | undefined>) {
  const text = (flag: string) => values[flag] as string | undefined;
  return {
    config: text('config'),
    url: text('url'),
    token: text('token'),
    ca: text('ca'),
    cert: text('cert'),
    key: text('key'),
  };
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    strict: true,
    options: {
      config: { type: 'string' },
      members: { type: 'string' },
      consortium: { type: 'string' },
      'coordinator-port': { type: 'string' },
      'rest-port': { type: 'string' },
      'rest-tls': { type: 'boolean' },
      coordinator: { type: 'string' },
      force: { type: 'boolean' },
      'id-kind': { type: 'string' },
      id: { type: 'string' },
      at: { type: 'string' },
      member: { type: 'string' },
      add: { type: 'string' },
      days: { type: 'string' },
      reason: { type: 'string' },
      historical: { type: 'boolean' },
      file: { type: 'string' },
      peer: { type: 'string', multiple: true },
      dataset: { type: 'string' },
      column: { type: 'string' },
      kind: { type: 'string' },
      mode: { type: 'string' },
      reveal: { type: 'string' },
      url: { type: 'string' },
      token: { type: 'string' },
      ca: { type: 'string' },
      cert: { type: 'string' },
      key: { type: 'string' },
      offline: { type: 'boolean' },
      anchors: { type: 'string', multiple: true },
      spec: { type: 'string' },
      label: { type: 'string' },
      model: { type: 'string' },
      hidden: { type: 'string' },
      trees: { type: 'string' },
      depth: { type: 'string' },
      bins: { type: 'string' },
      'min-child-weight': { type: 'string' },
      l2: { type: 'string' },
      'feature-subsample': { type: 'string' },
      'early-stopping': { type: 'string' },
      rounds: { type: 'string' },
      'local-epochs': { type: 'string' },
      alignment: { type: 'string' },
      epochs: { type: 'string' },
      optimizer: { type: 'string' },
      'batch-size': { type: 'string' },
      'learning-rate': { type: 'string' },
      'min-participants': { type: 'string' },
      purpose: { type: 'string' },
      'validation-fraction': { type: 'string' },
      seed: { type: 'string' },
      features: { type: 'string' },
      customer: { type: 'string' },
      comment: { type: 'string' },
      run: { type: 'string' },
      format: { type: 'string' },
      out: { type: 'string' },
      floor: { type: 'string' },
      ceiling: { type: 'string' },
      'max-pd': { type: 'string' },
    },
  });
  switch (command) {
    case 'init': {
      const result = initConsortium({
        dir: need(positionals[0], '<dir>'),
        members: need(values.members, '--members')
          .split(',')
          .map((m) => m.trim())
          .filter(Boolean),
        consortium: values.consortium ?? 'accord-dev',
        coordinatorPort: intFlag(values['coordinator-port'], '--coordinator-port', 7443),
        firstRestPort: intFlag(values['rest-port'], '--rest-port', 8081),
        force: values.force ?? false,
        restTls: values['rest-tls'] ?? false,
      });
      process.stdout.write(
        `consortium created in ${result.dir}\n  coordinator: accord coordinator --config ${result.coordinatorConfig}\n`,
      );
      for (const n of result.nodes)
        process.stdout.write(`  ${n.member}: accord node --config ${n.config}   (API tokens: ${n.tokens})\n`);
      return 0;
    }
    case 'coordinator':
      await runCoordinator(need(values.config, '--config'));
      return 0;
    case 'revoke': {
      const dir = need(positionals[0], '<dir>');
      const done = revokeMember(dir, need(values.member, '--member'));
      process.stdout.write(
        `revoked certificate ${done.serial}: ${done.crlFile} now lists ${done.revoked}; send SIGHUP to the coordinator to apply it\n`,
      );
      return 0;
    }
    case 'node':
      await runNode(need(values.config, '--config'), {
        ...(values.coordinator ? { coordinator: values.coordinator } : {}),
        ...(values['rest-port'] !== undefined
          ? { restPort: intFlag(values['rest-port'], '--rest-port', 0) }
          : {}),
      });
      return 0;
    case 'signals':
      if (positionals[0] === 'quota') {
        await quotaCommand(positionals[1], {
          config: need(values.config, '--config'),
          member: values.member,
          add: values.add,
          days: values.days,
          reason: values.reason,
        });
        return 0;
      }
      await signalsCommand(positionals[0], {
        ...(values.url ? { url: values.url } : {}),
        ...(values.config ? { config: values.config } : {}),
        ...(values.token ? { token: values.token } : {}),
        ...(values.ca ? { ca: values.ca } : {}),
        ...(values.cert ? { cert: values.cert } : {}),
        ...(values.key ? { key: values.key } : {}),
        ...(values['id-kind'] ? { idKind: values['id-kind'] } : {}),
        ...(values.id ? { id: values.id } : {}),
        ...(values.kind ? { kind: values.kind } : {}),
        ...(values.at ? { at: values.at } : {}),
        ...(values.file ? { file: values.file } : {}),
        ...(values.historical ? { historical: true } : {}),
      });
      return 0;
    case 'audit':
      if (positionals[0] === 'anchors') {
        await auditAnchors(need(values.config, '--config'));
        return 0;
      }
      if (positionals[0] !== 'verify')
        throw new AccordError('ACCORD_USAGE', {
          problem: 'usage: accord audit verify|anchors --config <file>',
        });
      await auditVerify(need(values.config, '--config'), {
        ...(values.coordinator ? { coordinator: values.coordinator } : {}),
        ...(values.offline ? { offline: true } : {}),
        ...(values.anchors ? { anchors: values.anchors } : {}),
      });
      return 0;
    case 'psi':
      await runPsi({
        config: need(values.config, '--config'),
        url: values.url,
        token: values.token,
        ca: values.ca,
        cert: values.cert,
        key: values.key,
        peers: values.peer ?? [],
        dataset: need(values.dataset, '--dataset'),
        column: values.column,
        kind: values.kind,
        mode: values.mode,
        reveal: values.reveal,
      });
      return 0;
    case 'train':
      await runTrain({
        config: need(values.config, '--config'),
        url: values.url,
        token: values.token,
        ca: values.ca,
        cert: values.cert,
        key: values.key,
        spec: values.spec,
        body: trainBodyFromFlags(values),
      });
      return 0;
    case 'score':
      await runScore({
        connection: connection(values),
        model: need(values.model, '--model'),
        dataset: values.dataset,
        alignment: values.alignment,
        customer: values.customer,
      });
      return 0;
    case 'campaign':
      await campaignCommand(positionals[0], {
        connection: connection(values),
        id: positionals[1],
        spec: values.spec,
        comment: values.comment,
        run: values.run,
        customer: values.customer,
        format: values.format,
        out: values.out,
        floor: values.floor,
        ceiling: values.ceiling,
        maxPd: values['max-pd'],
      });
      return 0;
    case undefined:
    case 'help':
    case '--help':
      process.stdout.write(HELP);
      return 0;
    default:
      throw new AccordError('ACCORD_USAGE', { problem: `unknown command ${command}` });
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => process.exit(reportError(err)),
);
