/**
 * StatsD datagrams taken whole by the ingest (statsdDatagram: common lines read without splitting first) must do
 * exactly what splitting them (splitDatagram) and ingesting each line does: the same line counters by reason and
 * the same flushed point for every (name, window).
 */
import { describe, expect, it } from 'vitest';
import { MetricsRegistry, batchPoint, parseResolutions } from '@carillon/core';
import { Aggregator, DEFAULT_STATSD_OPTIONS } from '@carillon/aggregator';
import { LineIngest } from '@carillon/accumulator';
import { splitDatagram } from '@carillon/protocols';
import { RecordingSink } from '../../../test/support/recording.js';

const NOW = 1_000_000;

function newIngest(): { ingest: LineIngest; registry: MetricsRegistry; aggregator: Aggregator; sink: RecordingSink } {
  const registry = new MetricsRegistry();
  const sink = new RecordingSink();
  const aggregator = new Aggregator(
    {
      resolutions: parseResolutions(['10s:1h']),
      graceSeconds: 2,
      maxFutureSeconds: 60,
      maxPendingPoints: 1_000_000,
      maxStatsdIntervalValues: 1_000_000,
    },
    DEFAULT_STATSD_OPTIONS,
    { sink, metrics: registry, clock: { now: () => NOW * 1000 } },
  );
  return { ingest: new LineIngest(aggregator, registry, { nowSeconds: () => NOW }), registry, aggregator, sink };
}

/** Every flushed point by `step@time name`. */
function flushed(sink: RecordingSink): Map<string, unknown> {
  const points = new Map<string, unknown>();
  for (const batch of sink.batches)
    batch.names.forEach((name, i) =>
      points.set(`${batch.resolution.step}@${batch.time} ${name}`, batchPoint(batch, i)),
    );
  return points;
}

/** The lines_* counters as rendered. */
function lineCounters(registry: MetricsRegistry): string[] {
  return registry
    .render()
    .split('\n')
    .filter((line) => line.includes('lines_') && !line.startsWith('#'));
}

describe('StatsD datagrams taken whole', () => {
  it('count and aggregate as their split lines do', () => {
    let state = 11;
    const next = (n: number): number => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) >>> 8) % n;
    const pieces = [
      () => `k${next(300)}:${next(100)}|c`,
      () => `k${next(300)}:${next(100)}|c|@0.5`,
      () => `t${next(300)}:${next(1000) / 10}|ms`,
      () => `g${next(100)}:${next(2) === 0 ? '+' : ''}${next(50)}|g`,
      () => `s${next(100)}:${next(2) === 0 ? '' : `u${next(20)}`}|s`,
      () => `k${next(300)}:1|c\r`, // CRLF: not common, the \r dropped by the splitting rules
      () => `p${next(10)}:1:2|c`, // packed: the slow path
      () => `d${next(10)}:1|c|#env:prod`, // tags
      () => 'bad line',
      () => ' ',
      () => '', // an empty line: skipped
      () => `l${'x'.repeat(next(2) === 0 ? 50 : 70)}:1|c`, // at most 64 bytes a line: some too long
      () => `a:1|c|@`,
      () => `a:|c`,
      () => `a:1|`,
      () => `é:1|c`,
      () => `s${next(10)}:u${next(5)}`, // no pipe: the next line's `|s` must not make it a set
      () => 'x|s',
    ];
    const maxLineLength = 64;
    const split = newIngest();
    const whole = newIngest();
    for (let d = 0; d < 5_000; d++) {
      let text = '';
      for (let n = 1 + next(40); n > 0; n--)
        text += `${pieces[next(pieces.length)]!()}${n > 1 || next(3) === 0 ? '\n' : ''}`;
      const datagram = Buffer.from(text);
      splitDatagram(datagram, maxLineLength, split.ingest.statsdLine, (reason) =>
        split.ingest.statsdCounters.reject(reason),
      );
      whole.ingest.statsdDatagram(datagram, maxLineLength);
    }
    expect(lineCounters(whole.registry)).toEqual(lineCounters(split.registry));
    expect(whole.ingest.statsdCounters.rejected('line_too_long').value).toBeGreaterThan(100);
    expect(whole.ingest.statsdCounters.accepted.value).toBeGreaterThan(40_000);
    split.aggregator.flushAll();
    whole.aggregator.flushAll();
    const expected = flushed(split.sink);
    expect(expected.size).toBeGreaterThan(1000);
    expect(Object.fromEntries(flushed(whole.sink))).toEqual(Object.fromEntries(expected));
  });
});
