/**
 * Generated StatsD traffic for the differential test: a seeded, reproducible mix of every type the reference
 * daemon knows (counters with sample rates and packed values, gauges with sets and +/- deltas, timers with
 * sample rates, sets with repeated and empty members), Graphite-tagged and DogStatsD-tagged keys, and `h`/`d`
 * samples, each `h`/`d` key mirrored by an `ms` twin key with the same values so carillon's timer maths for them
 * can be checked against the reference's timer maths.
 */
import { mulberry32 } from '../support/random.js';

export interface TrafficShape {
  counters: number;
  timers: number;
  gauges: number;
  sets: number;
  /** Keys sent as `h` or `d` (half each), plus as many `ms` twins. */
  histograms: number;
  /** Keys with DogStatsD tags `|#k:v,...` (all types). */
  dogTagged: number;
  /** Keys with Graphite tags in the key (`key;k=v`, all types). */
  graphiteTagged: number;
  /** Intervals with traffic. */
  intervals: number;
  /** Chance that a key is sent in a given interval (idle keys show the reference's idle rules). */
  activity: number;
  seed: number;
}

export interface Traffic {
  /** Lines per interval, in sending order. */
  intervals: string[][];
  /** Distinct StatsD keys sent (as typed; tags count as part of the key). */
  keyCount: number;
  /** Path of every `h`/`d` key → path of its `ms` twin. */
  histogramTwins: Map<string, string>;
}

type Kind = 'c' | 'ms' | 'g' | 's';
interface Key {
  kind: Kind;
  /** Text before the `:`. */
  name: string;
  /** DogStatsD tag section without `|#`, or ''. */
  dogTags: string;
}

export function generateTraffic(shape: TrafficShape): Traffic {
  const rand = mulberry32(shape.seed);
  const int = (n: number): number => Math.floor(rand() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  const decimal = (max: number, digits: number): string => (rand() * max).toFixed(digits);
  const kinds: Kind[] = ['c', 'ms', 'g', 's'];

  const keys: Key[] = [];
  const add = (count: number, kind: Kind, group: string): void => {
    for (let i = 0; i < count; i++) keys.push({ kind, name: `cmp.${group}.${i}`, dogTags: '' });
  };
  add(shape.counters, 'c', 'c');
  add(shape.timers, 'ms', 'ms');
  add(shape.gauges, 'g', 'g');
  add(shape.sets, 's', 's');
  for (let i = 0; i < shape.dogTagged; i++) {
    // Tags out of order, sometimes a duplicate name (the last wins in Graphite), values with odd characters.
    const tags = [`zone:z${i % 4}`, `app:web`, `host:h-${i % 7}`];
    if (i % 5 === 0) tags.push('app:api');
    keys.push({ kind: kinds[i % 4]!, name: `cmp.dog${kinds[i % 4]}.${i}`, dogTags: tags.join(',') });
  }
  for (let i = 0; i < shape.graphiteTagged; i++)
    keys.push({ kind: kinds[i % 4]!, name: `cmp.gt${kinds[i % 4]}.${i};dc=eu${i % 3};app=x`, dogTags: '' });

  const histogramTwins = new Map<string, string>();
  const histogramKeys: { name: string; twin: string; type: 'h' | 'd' }[] = [];
  for (let i = 0; i < shape.histograms; i++) {
    const type = i % 2 === 0 ? 'h' : 'd';
    const entry = { name: `cmp.${type}.${i}`, twin: `cmp.${type}ms.${i}`, type } as const;
    histogramKeys.push(entry);
    histogramTwins.set(entry.name, entry.twin);
  }

  const rates = ['', '', '', '|@0.5', '|@0.1', '|@0.25', '|@0.3'];
  const members = ['alice', 'bob', 'carol', 'dave', 'eve', '', 'u1', 'u2', 'u3'];
  const intervals: string[][] = [];
  for (let interval = 0; interval < shape.intervals; interval++) {
    const lines: string[] = [];
    for (const key of keys) {
      if (rand() >= shape.activity) continue;
      const tags = key.dogTags ? `|#${key.dogTags}` : '';
      const samples = 1 + int(key.kind === 'ms' ? 12 : 4);
      for (let n = 0; n < samples; n++) {
        switch (key.kind) {
          case 'c':
            if (rand() < 0.1) lines.push(`${key.name}:${int(5)}|c:${decimal(3, 1)}|c${tags}`);
            else lines.push(`${key.name}:${rand() < 0.5 ? int(20) : decimal(10, 2)}|c${pick(rates)}${tags}`);
            break;
          case 'ms':
            lines.push(`${key.name}:${rand() < 0.3 ? int(1000) : decimal(300, 3)}|ms${pick(rates)}${tags}`);
            break;
          case 'g': {
            const r = rand();
            const value = r < 0.4 ? decimal(100, 2) : r < 0.7 ? `+${decimal(5, 3)}` : `-${decimal(5, 3)}`;
            lines.push(`${key.name}:${value}|g${tags}`);
            break;
          }
          case 's':
            lines.push(`${key.name}:${pick(members)}|s${tags}`);
            break;
        }
      }
    }
    for (const key of histogramKeys) {
      if (rand() >= shape.activity) continue;
      const samples = 1 + int(8);
      for (let n = 0; n < samples; n++) {
        const value = decimal(500, 2);
        const rate = pick(rates);
        lines.push(`${key.name}:${value}|${key.type}${rate}`, `${key.twin}:${value}|ms${rate}`);
      }
    }
    intervals.push(lines);
  }
  return { intervals, keyCount: keys.length + 2 * histogramKeys.length, histogramTwins };
}

/** Packs lines into newline-separated datagrams of at most `maxBytes`, keeping their order. */
export function packDatagrams(lines: readonly string[], maxBytes = 1400): Buffer[] {
  const datagrams: Buffer[] = [];
  let current = '';
  for (const line of lines) {
    if (current.length > 0 && Buffer.byteLength(current) + 1 + Buffer.byteLength(line) > maxBytes) {
      datagrams.push(Buffer.from(current));
      current = '';
    }
    current = current.length === 0 ? line : `${current}\n${line}`;
  }
  if (current.length > 0) datagrams.push(Buffer.from(current));
  return datagrams;
}
