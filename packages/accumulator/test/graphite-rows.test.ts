/**
 * Graphite lines read ahead on a listener thread (graphite-rows.ts) must store exactly what the same lines read
 * on the main thread store, and be refused for the same reasons: the log keeps the lines, and a replay reads
 * them the usual way. Every line shape the parser knows goes through both, and every outcome and stored window
 * is compared.
 */
import { describe, expect, it } from 'vitest';
import { batchPoint, MetricsRegistry, parseResolutions } from '@carillon/core';
import { Aggregator, DEFAULT_STATSD_OPTIONS } from '@carillon/aggregator';
import { GRAPHITE_ROW, LineIngest, readGraphiteRows } from '@carillon/accumulator';
import { RecordingSink } from '../../../test/support/recording.js';

const NOW = 50_000;

function setup() {
  const registry = new MetricsRegistry();
  const sink = new RecordingSink();
  const aggregator = new Aggregator(
    {
      resolutions: parseResolutions(['10s:1h']),
      graceSeconds: 2,
      maxFutureSeconds: 60,
      maxPendingPoints: 100_000,
      maxStatsdIntervalValues: 1000,
    },
    DEFAULT_STATSD_OPTIONS,
    { sink, metrics: registry, clock: { now: () => NOW * 1000 } },
  );
  const ingest = new LineIngest(aggregator, registry, { nowSeconds: () => NOW });
  return { sink, aggregator, ingest, registry };
}

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
    const direct = setup();
    const ahead = setup();
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
