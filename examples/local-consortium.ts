/**
 * Starts a whole consortium on loopback as separate processes: `accord init` into a fresh temp folder, then one
 * coordinator and one node per member, each on an ephemeral port, over real mutual TLS. Used by the demo, the
 * integration tests and the benchmarks, so all three exercise the same processes an operator runs.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { type InitResult, initConsortium } from '../cli/commands/init.js';
import type { Role } from '../primitives/consortium/roles.js';

const CLI = fileURLToPath(new URL('../cli/main.ts', import.meta.url));

export interface RunningNode {
  readonly member: string;
  readonly url: string;
  readonly configFile: string;
  readonly tokens: Readonly<Record<Role, string>>;
  readonly process: ChildProcess;
}

export interface LocalConsortium {
  readonly dir: string;
  readonly coordinatorAddress: string;
  readonly coordinatorConfig: string;
  readonly coordinator: ChildProcess;
  readonly nodes: Readonly<Record<string, RunningNode>>;
  /** Calls a node's REST API with the token of `role`; returns status and parsed JSON body. */
  api(
    member: string,
    role: Role,
    method: string,
    path: string,
    body?: unknown,
    contentType?: string,
  ): Promise<ApiResponse>;
  /**
   * Starts a member's node again from its config (after a test killed it): the new process is stopped with the rest.
   * Returns its REST URL; `nodes[member]` still describes the first process.
   */
  restartNode(member: string): Promise<{ url: string; process: ChildProcess }>;
  /**
   * Stops the coordinator and starts it again from its config on the same port (the nodes reconnect by themselves);
   * for tests of what survives a restart. The new process is stopped with the rest.
   */
  restartCoordinator(): Promise<ChildProcess>;
  stop(): Promise<void>;
}

export interface ApiResponse {
  readonly status: number;
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are checked by the caller
  readonly body: any;
}

export interface StartOptions {
  readonly members: readonly string[];
  /** Keep the folder after stop (for inspection). */
  readonly keep?: boolean;
  /** Extra environment for every process. */
  readonly env?: Readonly<Record<string, string>>;
  /** Called with each ready process's name; the demo prints progress with it. */
  readonly onReady?: (name: string) => void;
  /** Called after `accord init`, before any process starts: lets benchmarks and tests adjust the configs. */
  readonly configure?: (init: InitResult) => void;
}

export function spawnCli(
  args: readonly string[],
  logFile: string,
  env: Readonly<Record<string, string>> = {},
): ChildProcess {
  const log = openSync(logFile, 'a');
  // Extra Node flags for profiling runs, e.g. ACCORD_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof".
  const flags = (env['ACCORD_NODE_FLAGS'] ?? process.env['ACCORD_NODE_FLAGS'] ?? '')
    .split(' ')
    .filter(Boolean);
  return spawn(process.execPath, [...flags, '--import', 'tsx', CLI, ...args], {
    stdio: ['ignore', 'pipe', log],
    env: { ...process.env, ...env },
  });
}

/** Waits for the process's `{"event":"ready",...}` line on stdout. */
export function waitReady(
  child: ChildProcess,
  what: string,
  logFile: string,
  timeoutMs = 30_000,
): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(
      () => fail(new Error(`${what} did not become ready in ${timeoutMs} ms`)),
      timeoutMs,
    );
    const fail = (err: Error) => {
      clearTimeout(timer);
      lines.close();
      let tail = '';
      try {
        tail = readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n');
      } catch {}
      reject(new Error(`${err.message}\n--- ${logFile} ---\n${tail}`));
    };
    child.once('exit', (code) => fail(new Error(`${what} exited with code ${code} before it was ready`)));
    lines.on('line', (line) => {
      try {
        const event = JSON.parse(line);
        if (event.event === 'ready') {
          clearTimeout(timer);
          resolve(event);
        }
      } catch {}
    });
  });
}

export async function stopProcess(child: ChildProcess, timeoutMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export async function callApi(
  url: string,
  token: string | null,
  method: string,
  path: string,
  body?: unknown,
  contentType?: string,
): Promise<ApiResponse> {
  const headers: Record<string, string> = {};
  if (token) headers['authorization'] = `Bearer ${token}`;
  let payload: string | undefined;
  if (body !== undefined) {
    headers['content-type'] = contentType ?? 'application/json';
    payload = typeof body === 'string' ? body : JSON.stringify(body);
  }
  const response = await fetch(`${url}${path}`, { method, headers, body: payload ?? null });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {}
  return { status: response.status, body: parsed };
}

async function waitConnected(url: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const health = await callApi(url, null, 'GET', '/v1/health').catch(() => null);
    if (health?.body?.coordinator?.connected) return;
    if (Date.now() > deadline) throw new Error(`node at ${url} did not connect to the coordinator`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function startLocalConsortium(options: StartOptions): Promise<LocalConsortium> {
  const dir = mkdtempSync(join(tmpdir(), 'accord-'));
  const init = initConsortium({
    dir,
    members: options.members,
    consortium: 'accord-local',
    coordinatorPort: 0,
    firstRestPort: 0,
    force: true,
  });
  options.configure?.(init);
  const env = options.env ?? {};
  const children: ChildProcess[] = [];
  const stopAll = async () => {
    await Promise.all(children.map((c) => stopProcess(c)));
    if (!options.keep) rmSync(dir, { recursive: true, force: true });
  };
  try {
    const coordinatorLog = join(dir, 'coordinator.log');
    const coordinator = spawnCli(['coordinator', '--config', init.coordinatorConfig], coordinatorLog, env);
    children.push(coordinator);
    const coordinatorAddress = (await waitReady(coordinator, 'coordinator', coordinatorLog))['grpc']!;
    options.onReady?.('coordinator');

    const nodes: Record<string, RunningNode> = {};
    await Promise.all(
      init.nodes.map(async (n) => {
        const logFile = join(dir, `${n.member}.log`);
        const child = spawnCli(
          ['node', '--config', n.config, '--coordinator', coordinatorAddress, '--rest-port', '0'],
          logFile,
          env,
        );
        children.push(child);
        const ready = await waitReady(child, n.member, logFile);
        await waitConnected(ready['rest']!);
        nodes[n.member] = {
          member: n.member,
          url: ready['rest']!,
          configFile: n.config,
          tokens: JSON.parse(readFileSync(n.tokens, 'utf8')),
          process: child,
        };
        options.onReady?.(n.member);
      }),
    );
    return {
      dir,
      coordinatorAddress,
      coordinatorConfig: init.coordinatorConfig,
      coordinator,
      nodes,
      api: (member, role, method, path, body, contentType) => {
        const node = nodes[member];
        if (!node) throw new Error(`no node ${member}`);
        return callApi(node.url, node.tokens[role], method, path, body, contentType);
      },
      restartCoordinator: async () => {
        const running = children.filter((c) => c.spawnargs.includes('coordinator'));
        await Promise.all(running.map((c) => stopProcess(c)));
        const config = JSON.parse(readFileSync(init.coordinatorConfig, 'utf8'));
        config.listen.port = Number(coordinatorAddress.split(':').pop());
        writeFileSync(init.coordinatorConfig, JSON.stringify(config, null, 2));
        const logFile = join(dir, `coordinator-restart-${children.length}.log`);
        const child = spawnCli(['coordinator', '--config', init.coordinatorConfig], logFile, env);
        children.push(child);
        await waitReady(child, 'coordinator', logFile);
        return child;
      },
      restartNode: async (member) => {
        const node = nodes[member];
        if (!node) throw new Error(`no node ${member}`);
        const logFile = join(dir, `${member}-restart-${children.length}.log`);
        const child = spawnCli(
          ['node', '--config', node.configFile, '--coordinator', coordinatorAddress, '--rest-port', '0'],
          logFile,
          env,
        );
        children.push(child);
        const ready = await waitReady(child, member, logFile);
        return { url: ready['rest']!, process: child };
      },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
