/**
 * CPU time a process has used (user + system, all threads), read from /proc on Linux; null elsewhere. The signals
 * benchmark logs it per query for the node and the coordinator: on a 2-core machine that figure, more than any
 * code path timing, decides the latency tail under load.
 */
import { readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ, 100 on every mainstream Linux build

export function processCpuMs(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

/** CPU ms per operation of each named process between `before` and now ("n/a" where /proc is missing). */
export function cpuPerOperation(
  pids: Readonly<Record<string, number | undefined>>,
  before: Readonly<Record<string, number | null>>,
  operations: number,
): string {
  return Object.entries(pids)
    .map(([name, pid]) => {
      const start = before[name];
      const end = processCpuMs(pid);
      return `${name} ${start === null || start === undefined || end === null ? 'n/a' : ((end - start) / operations).toFixed(2)} ms`;
    })
    .join(', ');
}

export function cpuSnapshot(
  pids: Readonly<Record<string, number | undefined>>,
): Record<string, number | null> {
  return Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, processCpuMs(pid)]));
}

/** A process's peak resident set (VmHWM, MB) from /proc; 0 where it cannot be read. */
export function peakRssMb(pid: number | undefined): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}
