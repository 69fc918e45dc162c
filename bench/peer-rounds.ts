// Comparison benches against a peer program (not itself a bench: the runner only picks up `*.bench.ts`).
// On a shared 2-core machine lines/s mostly measures who wins the CPU, so each program's own CPU accounting
// (user + system seconds from /proc/<pid>/stat, all its threads) is read over exactly the measured interval and
// reported per million lines beside lines/s. Programs run in alternating order over several rounds, and each
// figure is the median with the spread (min–max) of the rounds.
import { readFileSync } from 'node:fs';
import type { BenchRow } from './row.ts';

/** Linux's USER_HZ: the unit of utime and stime in /proc/<pid>/stat (100 on every Linux the project runs on). */
const CLOCK_TICKS_PER_SECOND = 100;

/** User + system CPU seconds a process has used so far, every thread included. */
export function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces, so split after its closing parenthesis): state is
  // field 3, utime field 14 and stime field 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

/**
 * Extra Node flags for a measured carillon process, from the environment variable `name` (space-separated), e.g.
 * `--cpu-prof --cpu-prof-dir=/tmp/prof` to see where its CPU goes in the very run the figures come from.
 */
export function nodeArgsFrom(name: string): string[] {
  return (process.env[name] ?? '').split(' ').filter((a) => a !== '');
}

/** Resident memory of a process, in bytes (VmRSS). */
export function residentBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : 0;
}

/** One program's measured interval: the lines it handled, the wall time, and its CPU over that time. */
export interface RoundResult {
  lines: number;
  /** Lines offered; `lines` below it means the program lost or refused some. */
  sent: number;
  seconds: number;
  cpuSeconds: number;
  /** Anything else worth printing for this round (resident memory, say). */
  extra?: Record<string, number>;
}

/** Wraps a measured interval of process `pid`: CPU before, the work, CPU after. */
export async function measuredRound(
  pid: number,
  work: () => Promise<{ lines: number; sent: number; seconds: number }>,
): Promise<RoundResult> {
  const cpuBefore = processCpuSeconds(pid);
  const done = await work();
  return { ...done, cpuSeconds: processCpuSeconds(pid) - cpuBefore };
}

export interface Contender {
  /** Printed in the rows: "carillon relay", "carbon-c-relay -w 2". */
  name: string;
  round: () => Promise<RoundResult>;
}

export interface Spread {
  median: number;
  min: number;
  max: number;
}

function spreadOf(values: number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]! };
}

export interface ContenderSummary {
  name: string;
  linesPerSecond: Spread;
  cpuSecondsPerMillion: Spread;
  rounds: RoundResult[];
}

/** Runs every contender `rounds` times, alternating who goes first, and summarises each. */
export async function alternateRounds(contenders: Contender[], rounds: number): Promise<ContenderSummary[]> {
  const results = contenders.map(() => [] as RoundResult[]);
  for (let r = 0; r < rounds; r++) {
    const order = contenders.map((_, i) => i);
    if (r % 2 === 1) order.reverse();
    for (const i of order) results[i]!.push(await contenders[i]!.round());
  }
  return contenders.map((c, i) => ({
    name: c.name,
    linesPerSecond: spreadOf(results[i]!.map((r) => r.lines / r.seconds)),
    cpuSecondsPerMillion: spreadOf(results[i]!.map((r) => (r.cpuSeconds / r.lines) * 1e6)),
    rounds: results[i]!,
  }));
}

const figure = (value: number): string =>
  Math.abs(value) >= 1000 ? Math.round(value).toLocaleString('en-US') : value.toPrecision(3);
const spreadNote = (s: Spread): string => `median of rounds, spread ${figure(s.min)}–${figure(s.max)}`;

/** Rows for each contender (lines/s, CPU-s per M lines, lines handled) and the ratios of each to the last (the peer). */
export function comparisonRows(prefix: string, summaries: ContenderSummary[]): BenchRow[] {
  const rows: BenchRow[] = [];
  for (const s of summaries) {
    const handled = s.rounds.map((r) => `${r.lines.toLocaleString('en-US')}/${r.sent.toLocaleString('en-US')}`);
    rows.push(
      {
        name: `${prefix}: ${s.name} lines/s`,
        value: s.linesPerSecond.median,
        unit: 'lines/s',
        note: `${spreadNote(s.linesPerSecond)}; lines handled per round ${handled.join(', ')}`,
      },
      {
        name: `${prefix}: ${s.name} CPU per M lines`,
        value: s.cpuSecondsPerMillion.median,
        unit: 'CPU-s/M lines',
        note: spreadNote(s.cpuSecondsPerMillion),
      },
    );
    for (const key of Object.keys(s.rounds[0]?.extra ?? {})) {
      const values = spreadOf(s.rounds.map((r) => r.extra?.[key] ?? 0));
      rows.push({ name: `${prefix}: ${s.name} ${key}`, value: values.median, unit: key, note: spreadNote(values) });
    }
  }
  const peer = summaries[summaries.length - 1];
  for (const ours of summaries.slice(0, -1)) {
    rows.push(
      {
        name: `${prefix}: lines/s ${ours.name} / ${peer!.name}`,
        value: ours.linesPerSecond.median / peer!.linesPerSecond.median,
        unit: 'x',
      },
      {
        name: `${prefix}: CPU per line ${ours.name} / ${peer!.name}`,
        value: ours.cpuSecondsPerMillion.median / peer!.cpuSecondsPerMillion.median,
        unit: 'x (below 1: less CPU)',
      },
    );
  }
  return rows;
}
