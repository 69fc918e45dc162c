import { describe, expect, it } from 'vitest';
import { MetricsRegistry, batchPoint, parseResolutions, type StatPoint } from '@carillon/core';
import { Aggregator, DEFAULT_STATSD_OPTIONS } from '@carillon/aggregator';
import { LineSplitter } from '@carillon/protocols';
import { LineIngest, LoggedIngest, WalMetrics, WalWriter, replayWal } from '@carillon/accumulator';
import { RecordingSink } from '../../../test/support/recording.js';
import { useTempDir } from '../../../test/support/temp-dir.js';

const dir = useTempDir('logged');
const T = 1_700_000_000;

function node(nowSeconds: () => number, withLog: boolean) {
  const registry = new MetricsRegistry();
  const sink = new RecordingSink();
  const aggregator = new Aggregator(
    {
      resolutions: parseResolutions(['1s:1h', '5s:1d']),
      graceSeconds: 2,
      maxFutureSeconds: 60,
      maxPendingPoints: 100_000,
      maxStatsdIntervalValues: 100_000,
    },
    DEFAULT_STATSD_OPTIONS,
    { sink, metrics: registry, clock: { now: () => nowSeconds() * 1000 } },
  );
  const metrics = new WalMetrics(registry, () => ({ bytes: 0, segments: 0 }));
  const wal = withLog
    ? new WalWriter({ dir: dir(), segmentBytes: 1 << 20, maxBytes: 1 << 22, syncIntervalMs: 0 }, [], 0, metrics)
    : undefined;
  const ingest = new LineIngest(aggregator, registry);
  return { registry, sink, aggregator, metrics, wal, logged: new LoggedIngest(ingest, aggregator, wal) };
}

/** Every StatPoint the sink got, `name|step|time` → point. */
function written(sink: RecordingSink): Map<string, StatPoint> {
  const out = new Map<string, StatPoint>();
  for (const batch of sink.batches)
    batch.names.forEach((name, i) => out.set(`${name}|${batch.resolution.step}|${batch.time}`, batchPoint(batch, i)));
  return out;
}

describe('logged ingest', () => {
  it('a line is in the log before it is aggregated, one record per read', async () => {
    let now = T;
    const live = node(() => now, true);
    const splitter = new LineSplitter(1024, live.logged.graphiteLine, () => undefined);
    splitter.push(Buffer.from(`a.b 1 ${T}\na.b 2 ${T}\na.c 3`));
    // Staged until the end of the read's turn: nothing aggregated, nothing logged yet.
    expect(live.aggregator.pending('a.b', live.aggregator.resolutions[0]!, 0, T + 10)).toEqual([]);
    await Promise.resolve();
    expect(live.metrics.appendedRecords.value).toBe(1);
    expect(live.aggregator.pending('a.b', live.aggregator.resolutions[0]!, 0, T + 10)[0]?.count).toBe(2);
    now++;
    splitter.push(Buffer.from(` ${T}\n`));
    await Promise.resolve();
    expect(live.metrics.appendedRecords.value).toBe(2);
    live.wal!.close();
    const lines: string[] = [];
    replayWal(dir(), (record) => (lines.push(record.lines.toString()), 0), live.metrics);
    expect(lines).toEqual([`a.b 1 ${T}\na.b 2 ${T}\n`, `a.c 3 ${T}\n`]);
  });

  it('a record holds exactly the lines delivered, however a read joins, breaks or carries them', async () => {
    const live = node(() => T, true);
    const splitter = new LineSplitter(1024, live.logged.graphiteLine, () => undefined);
    const records: string[] = [];
    // Each read: a carried line ended, lines back to back, a `\r\n` line, an empty line, a new partial line.
    const reads = [
      `a.b 1 ${T}\na.b 2 ${T}\r\n\na.c 3 ${T}\na.d 4`,
      ` ${T}\na.e 5 ${T}\n\r\na.f 6 ${T}\na.g 7`,
      ` ${T}\na.h`,
      ` 8 ${T}\n`,
    ];
    for (const read of reads) {
      splitter.push(Buffer.from(read));
      await Promise.resolve();
    }
    live.wal!.close();
    replayWal(dir(), (record) => (records.push(record.lines.toString()), 0), live.metrics);
    expect(records).toEqual([
      `a.b 1 ${T}\na.b 2 ${T}\na.c 3 ${T}\n`,
      `a.d 4 ${T}\na.e 5 ${T}\na.f 6 ${T}\n`,
      `a.g 7 ${T}\n`,
      `a.h 8 ${T}\n`,
    ]);
  });

  it('replaying the log into a fresh aggregator writes exactly what the process killed would have', async () => {
    let now = T + 3;
    const live = node(() => now, true);
    const graphite = new LineSplitter(1024, live.logged.graphiteLine, () => undefined);
    const statsd = new LineSplitter(1024, live.logged.statsdLine, () => undefined);
    for (let second = 0; second < 8; second++) {
      now = T + 3 + second;
      graphite.push(
        Buffer.from(`g.x ${second} ${now}\ng.y ${second * 2}\ng.late 1 ${T - 4000}\ng.future 1 ${now + 600}\n`),
      );
      statsd.push(Buffer.from(`s.hits:${second + 1}|c\ns.lat:${10 * second}|ms\ns.level:${second}|g\n`));
      await Promise.resolve();
      live.logged.ingestBatch('graphite', Buffer.from(`r.z ${second} ${now - 1}\n`), now, {
        relayId: 'relay-1',
        sequence: second + 1,
      });
      live.logged.ingestBody('statsd', Buffer.from(`s.body:1|c\n`), () => undefined);
    }
    const late = live.registry.value('aggregator_points_refused_total', 'too_old');
    const future = live.registry.value('aggregator_future_points_total');
    expect([late, future]).toEqual([8, 8]);
    // The process dies here (the log was written synchronously); what it would have written, had it lived:
    live.aggregator.flushAll();
    const expected = written(live.sink);

    const rebuilt = node(() => now + 2, false);
    rebuilt.aggregator.resumeAfter(0);
    const relays: string[] = [];
    replayWal(
      dir(),
      (record) => {
        if (record.relayId !== '') relays.push(`${record.relayId}#${record.sequence}`);
        return rebuilt.logged.replay(record, 0).coarseEnd;
      },
      rebuilt.metrics,
    );
    rebuilt.aggregator.flushAll();
    expect(written(rebuilt.sink)).toEqual(expected);
    expect(expected.size).toBeGreaterThan(20);
    expect(relays).toEqual(Array.from({ length: 8 }, (_, i) => `relay-1#${i + 1}`));
    // Refused again as they were live, but counted as replay refusals, not as late or future points.
    expect(rebuilt.registry.value('aggregator_late_points_total')).toBe(0);
    expect(rebuilt.registry.value('aggregator_future_points_total')).toBe(0);
    expect(rebuilt.registry.value('aggregator_replay_refused_points_total', 'refused_then')).toBe(16);
  });

  it('replay redoes amends: rebuilt into windows at or past the floor, merged again below it unless stored', () => {
    const now = T + 30;
    const live = node(() => now, true);
    // Windows from T + 28 are open: both points are amends of windows already closed.
    live.logged.ingestBatch('graphite', Buffer.from(`x 5 ${T + 26}\ny 7 ${T + 21}\nx 1 ${T + 29}\n`), now, {
      relayId: 'relay-1',
      sequence: 1,
    });
    expect(live.registry.value('aggregator_amended_points_total')).toBe(2);
    live.wal!.close();
    const floor = T + 25;

    const replayed = (amendsStored: boolean) => {
      const rebuilt = node(() => now + 2, false);
      rebuilt.aggregator.resumeAfter(floor);
      replayWal(dir(), (record) => rebuilt.logged.replay(record, floor, amendsStored).coarseEnd, rebuilt.metrics);
      rebuilt.aggregator.flushAll();
      const windows = new Map<string, string>();
      for (const batch of rebuilt.sink.batches)
        batch.names.forEach((name, i) => {
          const { sum, count } = batchPoint(batch, i);
          const kind = batch.amend === undefined ? 'window' : 'amend';
          windows.set(`${name}|${batch.resolution.step}|${batch.time}`, `${kind} ${sum}/${count}`);
        });
      return { windows, registry: rebuilt.registry };
    };

    // At or past the floor the window is rebuilt whole (it is written over the store): the late point is in it.
    // Below the floor the amend is merged into the store again, at both resolutions, when the mark says unstored.
    const unstored = replayed(false);
    expect(Object.fromEntries(unstored.windows)).toEqual({
      [`x|1|${T + 26}`]: 'window 5/1',
      [`x|1|${T + 29}`]: 'window 1/1',
      [`x|5|${T + 25}`]: 'window 6/2',
      [`y|1|${T + 21}`]: 'amend 7/1',
      [`y|5|${T + 20}`]: 'amend 7/1',
    });
    // Stored before the crash: not merged twice, refused as written.
    const stored = replayed(true);
    expect(stored.windows.has(`y|1|${T + 21}`)).toBe(false);
    expect(stored.windows.has(`y|5|${T + 20}`)).toBe(false);
    expect(stored.windows.get(`x|5|${T + 25}`)).toBe('window 6/2');
    expect(stored.registry.value('aggregator_replay_refused_points_total', 'written')).toBe(1);
  });
});
