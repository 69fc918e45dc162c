/**
 * Graphite lines of series the aggregator already knows are added by their key's bytes (no name string); every
 * other line by name. Both must store the same: every (series, window) is compared with an oracle of what was
 * sent, through the listener path, the batch path and the batch path read ahead by a listener thread, with amends, tagged and uncommon lines among them, and
 * series forgotten as idle and sent again (their ids reused by others). Lines read ahead on a listener thread
 * (graphite-rows.ts) must store and refuse exactly what the same lines read here do: the log keeps the lines, and
 * a replay reads them the usual way.
 */
import { describe, expect, it } from 'vitest';
import { batchPoint, MetricsRegistry, parseResolutions, windowStart, type StatPoint } from '@carillon/core';
import { Aggregator, DEFAULT_STATSD_OPTIONS } from '@carillon/aggregator';
import { GRAPHITE_ROW, LineIngest, readGraphiteRows } from '@carillon/accumulator';
import { RecordingSink } from '../../../test/support/recording.js';

const STEP = 10;

function setup(clock: { now: number }, seriesIdleSeconds?: number) {
  const registry = new MetricsRegistry();
  const sink = new RecordingSink();
  const aggregator = new Aggregator(
    {
      resolutions: parseResolutions(['10s:1h']),
      graceSeconds: 2,
      maxFutureSeconds: 60,
      maxPendingPoints: 100_000,
      maxStatsdIntervalValues: 1000,
      seriesIdleSeconds,
    },
    DEFAULT_STATSD_OPTIONS,
    { sink, metrics: registry, clock: { now: () => clock.now * 1000 } },
  );
  const ingest = new LineIngest(aggregator, registry, { nowSeconds: () => clock.now });
  return { sink, aggregator, ingest, registry };
}

/** The oracle: every value sent per (name, window), in order. */
class Sent {
  readonly values = new Map<string, number[]>();
  add(name: string, value: number, time: number): void {
    const key = `${name}@${windowStart(time, STEP)}`;
    const list = this.values.get(key) ?? [];
    list.push(value);
    this.values.set(key, list);
  }
  expected(key: string): Omit<StatPoint, 'time'> {
    const v = this.values.get(key)!;
    return {
      min: Math.min(...v),
      max: Math.max(...v),
      sum: v.reduce((a, b) => a + b, 0),
      first: v[0]!,
      last: v.at(-1)!,
      count: v.length,
    };
  }
}

function lineOf(name: string, value: number, time: number, i: number): string {
  // common lines mostly; every few an exponent, tabs or a stray CR (other paths through the parser)
  if (i % 7 === 3) return `${name} ${value * 1000}e-3 ${time}\n`;
  if (i % 11 === 5) return `${name}\t${value}\t${time}\r\n`;
  return `${name} ${value} ${time}\n`;
}

describe('lines of known series, added by their bytes', () => {
  it.each(['listener', 'batch', 'rows'] as const)('store what the names would, every window (%s path)', (path) => {
    const clock = { now: 10_000 };
    const { sink, aggregator, ingest } = setup(clock);
    const sent = new Sent();
    const names = [
      ...Array.from({ length: 30 }, (_, i) => `known.s${i}.value`),
      'known.tagged;dc=eu;host=a',
      'known.caf\u00e9',
    ];
    const send = (text: string, at: number): void => {
      const buf = Buffer.from(text);
      if (path === 'batch') ingest.ingestBatch('graphite', buf, at);
      else if (path === 'rows') ingest.ingestBatch('graphite', buf, at, readGraphiteRows(buf));
      else
        for (const line of text.split('\n'))
          if (line) ingest.line('graphite', Buffer.from(line), 0, Buffer.byteLength(line), at);
      void buf;
    };
    let i = 0;
    for (let window = 0; window < 6; window++) {
      const base = 10_000 + window * STEP;
      clock.now = base + 1;
      let text = '';
      for (let k = 0; k < 3; k++)
        for (const [n, name] of names.entries()) {
          const value = (n + 1) * 1.25 + window - k * 0.5;
          text += lineOf(name, value, base + k, i++);
          sent.add(name.includes(';') ? 'known.tagged;dc=eu;host=a' : name, value, base + k);
        }
      send(text, clock.now);
      // the window before this one is flushed now: a late point amends it, by a known series' bytes
      if (window > 1) {
        const late = base - STEP + 3;
        send(`known.s0.value 99 ${late}\nknown.s1.value -7.5 ${late}\n`, clock.now);
        sent.add('known.s0.value', 99, late);
        sent.add('known.s1.value', -7.5, late);
      }
      aggregator.tick(base + STEP + 2);
    }
    clock.now += 3 * STEP;
    aggregator.flushAll();
    expect(sent.values.size).toBe(6 * names.length);
    for (const key of sent.values.keys()) {
      const [name, time] = [key.slice(0, key.lastIndexOf('@')), Number(key.slice(key.lastIndexOf('@') + 1))];
      const stored = sink.merged(STEP, time, name);
      expect(stored, key).toBeDefined();
      const { time: _t, firstTime: _f, lastTime: _l, ...stats } = stored!;
      expect(stats, key).toEqual(sent.expected(key));
    }
  });

  it('adds a series forgotten as idle, and one under its reused id, each by its own name', () => {
    const clock = { now: 20_000 };
    const { sink, aggregator, ingest } = setup(clock, 30);
    const send = (text: string): void => void ingest.ingestBatch('graphite', Buffer.from(text), clock.now);
    send('idle.a 1 20000\nidle.b 2 20000\n');
    // idle.b goes on; idle.a falls silent past the 30 s idle timeout and is forgotten
    for (let t = 20_010; t <= 20_080; t += STEP) {
      clock.now = t + 1;
      send(`idle.b 3 ${t}\n`);
      aggregator.tick(t + 2);
    }
    expect(aggregator.knows('idle.a')).toBe(false);
    clock.now = 20_091;
    // idle.c is new and may take idle.a's id; idle.a comes back, new again
    send('idle.c 5 20090\nidle.a 7 20090\nidle.c 6 20090\nidle.a 8 20090\nidle.b 4 20090\n');
    clock.now = 20_200;
    aggregator.flushAll();
    expect(sink.merged(STEP, 20_000, 'idle.a')).toMatchObject({ sum: 1, count: 1 });
    expect(sink.merged(STEP, 20_090, 'idle.a')).toMatchObject({ sum: 15, count: 2, first: 7, last: 8 });
    expect(sink.merged(STEP, 20_090, 'idle.c')).toMatchObject({ sum: 11, count: 2, first: 5, last: 6 });
    expect(sink.merged(STEP, 20_090, 'idle.b')).toMatchObject({ sum: 4, count: 1 });
  });
});

/** Lines read ahead on a listener thread (graphite-rows.ts): the same points as read here, and the same refusals. */
const NOW = 50_000;

/** Every point written, in write order, with its window and whether it amends one. */
function written(sink: RecordingSink): string[] {
  return sink.batches.flatMap((batch) =>
    batch.names.map(
      (name, i) =>
        `${batch.resolution.step}@${batch.time}${batch.amend === undefined ? '' : ' amend'} ${name} ${JSON.stringify(batchPoint(batch, i))}`,
    ),
  );
}

/** Lines of every shape: common, untimed, -1, exponent, tabs, CRLF, tagged, non-ASCII, empty, and refusals. */
const LINES = [
  `rows.a 1 ${NOW - 5}`,
  `rows.a 2.5 ${NOW - 4}`,
  'rows.untimed 7',
  'rows.minus.one 3 -1',
  `rows.exp 1.5e3 ${NOW - 3}`,
  `rows.tabs\t4\t${NOW - 2}`,
  `rows.crlf 5 ${NOW - 2}\r`,
  '',
  `rows.tagged;dc=eu;host=a 6 ${NOW - 1}`,
  `rows.caf\u00e9 8 ${NOW - 1}`,
  `rows.a 3 ${NOW - 25}`,
  `rows.bad nan ${NOW}`,
  `rows..empty.node 1 ${NOW}`,
  'rows.no.value',
  `rows.a 1 ${NOW} extra`,
  `rows.future 1 ${NOW + 3600}`,
  `rows.ancient 1 ${NOW - 86_400 * 30}`,
  `rows.ms 1 ${NOW * 1000}`,
  `   `,
  `rows.a 9 ${NOW - 6}`,
];

describe('Graphite lines read ahead on a listener thread', () => {
  it('give one row per line the batch path reads, in its order', () => {
    const text = Buffer.from(LINES.join('\n') + '\n');
    const rows = readGraphiteRows(text);
    const seen: string[] = [];
    for (let row = 0; row < rows.length; row += GRAPHITE_ROW)
      seen.push(text.subarray(rows[row]!, rows[row + 1]!).toString());
    expect(seen).toEqual(LINES.filter((line) => line !== '').map((line) => line.replace(/\r$/, '')));
  });

  it('store and refuse exactly what the same lines read on the main thread do', () => {
    const text = Buffer.from(LINES.join('\n') + '\n');
    const direct = setup({ now: NOW });
    const ahead = setup({ now: NOW });
    const outcomes = [
      direct.ingest.ingestBatch('graphite', text, NOW),
      ahead.ingest.ingestBatch('graphite', text, NOW, readGraphiteRows(text)),
    ];
    // a second batch: known series are now found by their bytes
    outcomes.push(
      direct.ingest.ingestBatch('graphite', text, NOW),
      ahead.ingest.ingestBatch('graphite', text, NOW, readGraphiteRows(text)),
    );
    expect(outcomes[1]).toEqual(outcomes[0]);
    expect(outcomes[3]).toEqual(outcomes[2]);
    expect(outcomes[0]!.rejected).toBeGreaterThan(3);
    expect(outcomes[0]!.accepted).toBeGreaterThan(8);
    direct.aggregator.flushAll();
    ahead.aggregator.flushAll();
    expect(written(ahead.sink)).toEqual(written(direct.sink));
    expect(written(direct.sink).length).toBeGreaterThan(8);
    // every counter alike (accepted, refused by reason, late, future), but for the flush's own timing
    const counters = (registry: MetricsRegistry): string[] =>
      registry
        .render()
        .split('\n')
        .filter((line) => !line.includes('duration_seconds'));
    expect(counters(ahead.registry)).toEqual(counters(direct.registry));
  });
});
