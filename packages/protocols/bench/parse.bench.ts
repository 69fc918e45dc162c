// Parse throughput on one core: full Graphite and StatsD parsers, the byte-level key locators the relay uses,
// and the stream framing. Lines are shaped like real traffic: mostly untagged, some tagged, varied lengths.
import {
  KeyLocation,
  LineSplitter,
  locateGraphiteKey,
  locateStatsdKey,
  parseGraphiteLine,
  parseStatsdLine,
} from '@carillon/protocols';
import type { StatsdSample } from '@carillon/core';
import type { BenchRow } from '../../../bench/row.ts';

const LINES = 20_000;
const MIN_SECONDS = 1;

function graphiteLines(): string[] {
  const metrics = ['cpu.total.user', 'cpu.total.system', 'memory.used_bytes', 'disk.sda.io_time', 'net.eth0.rx_bytes'];
  const lines: string[] = [];
  for (let i = 0; i < LINES; i++) {
    const host = `web-${String(i % 500).padStart(3, '0')}`;
    const metric = metrics[i % metrics.length];
    const value = i % 2 ? (i * 0.731).toFixed(3) : String(i * 17);
    lines.push(
      i % 10 === 0
        ? `${metric};host=${host};dc=eu-west-1;env=prod ${value} ${1_700_000_000 + (i % 60)}`
        : `servers.${host}.${metric} ${value} ${1_700_000_000 + (i % 60)}`,
    );
  }
  return lines;
}

function statsdLines(): string[] {
  const lines: string[] = [];
  for (let i = 0; i < LINES; i++) {
    const service = `svc${i % 40}`;
    switch (i % 5) {
      case 0:
        lines.push(`${service}.requests.count:1|c`);
        break;
      case 1:
        lines.push(`${service}.latency:${(i % 900) + 0.5}|ms|@0.1`);
        break;
      case 2:
        lines.push(`${service}.queue.depth:${i % 300}|g`);
        break;
      case 3:
        lines.push(`${service}.users:user${i % 1000}|s`);
        break;
      default:
        lines.push(`${service}.http.requests:1|c|#method:get,status:200,region:eu`);
    }
  }
  return lines;
}

/** Runs `pass` (one pass over `count` lines) until MIN_SECONDS have passed; returns lines per second. */
function measure(count: number, pass: () => void): number {
  for (let i = 0; i < 3; i++) pass(); // warm up the JIT
  let passes = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < MIN_SECONDS) {
    pass();
    passes++;
    elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  }
  return (passes * count) / elapsed;
}

/** The lines as one buffer plus their byte ranges. */
function packed(lines: string[]): { buffer: Buffer; ranges: Int32Array } {
  const buffer = Buffer.from(lines.join('\n') + '\n');
  const ranges = new Int32Array(lines.length * 2);
  let at = 0;
  for (let i = 0; i < lines.length; i++) {
    const end = buffer.indexOf(10, at);
    ranges[i * 2] = at;
    ranges[i * 2 + 1] = end;
    at = end + 1;
  }
  return { buffer, ranges };
}

export default async function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const graphite = graphiteLines();
  const statsd = statsdLines();
  let sink = 0;

  rows.push({
    name: 'parseGraphiteLine',
    value: measure(graphite.length, () => {
      for (const line of graphite) if (typeof parseGraphiteLine(line, 1_700_000_000) === 'object') sink++;
    }),
    unit: 'lines/s',
    note: '10% tagged',
  });

  const out: StatsdSample[] = [];
  rows.push({
    name: 'parseStatsdLine',
    value: measure(statsd.length, () => {
      for (const line of statsd) {
        out.length = 0;
        if (parseStatsdLine(line, out) === undefined) sink += out.length;
      }
    }),
    unit: 'lines/s',
    note: 'c, ms@rate, g, s, 20% DogStatsD tags',
  });

  const location = new KeyLocation();
  const locators: [string, string[], typeof locateGraphiteKey][] = [
    ['locateGraphiteKey', graphite, locateGraphiteKey],
    ['locateStatsdKey', statsd, locateStatsdKey],
  ];
  for (const [name, lines, locate] of locators) {
    const { buffer, ranges } = packed(lines);
    rows.push({
      name,
      value: measure(lines.length, () => {
        for (let i = 0; i < ranges.length; i += 2) {
          const found = locate(buffer, ranges[i]!, ranges[i + 1]!, location); // i + 1 < ranges.length: pairs
          if (typeof found === 'object' && found.canonical) sink++;
        }
      }),
      unit: 'lines/s',
      note: 'bytes in place, no decoding',
    });
  }

  const stream = Buffer.from(graphite.join('\r\n') + '\r\n');
  const chunkSize = 64 * 1024;
  const chunks: Buffer[] = [];
  for (let at = 0; at < stream.length; at += chunkSize) chunks.push(stream.subarray(at, at + chunkSize));
  const splitter = new LineSplitter(
    64 * 1024,
    (_buf, start, end) => (sink += end - start),
    () => sink--,
  );
  const linesPerSecond = measure(graphite.length, () => {
    for (const chunk of chunks) splitter.push(chunk);
  });
  rows.push({
    name: 'LineSplitter',
    value: (linesPerSecond / graphite.length) * (stream.length / 1e6),
    unit: 'MB/s',
    note: `64 KiB reads, ${Math.round(stream.length / graphite.length)} B lines`,
  });
  rows.push({ name: 'LineSplitter', value: linesPerSecond, unit: 'lines/s' });

  if (sink === 0) throw new Error('benchmark produced nothing');
  return rows;
}
