import { appendFileSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MetricsRegistry } from '@carillon/core';
import {
  encodeRecord,
  readReplayFloor,
  replayWal,
  segmentPath,
  WalMetrics,
  WalWriter,
  writeReplayFloor,
  type WalRecord,
} from '@carillon/accumulator';
import { useTempDir } from '../../../test/support/temp-dir.js';

const dir = useTempDir('wal');

const record = (n: number, bytes = 100): WalRecord => ({
  format: 'graphite',
  receivedAt: 1000 + n,
  nodeNow: 1000 + n,
  acceptFrom: 990,
  relayId: n % 2 === 0 ? 'relay' : '',
  sequence: n,
  lines: Buffer.from(`k${n} ${n} ${1000 + n}\n`.padEnd(bytes, '#')),
});

const setup = (): { registry: MetricsRegistry; metrics: WalMetrics } => {
  const registry = new MetricsRegistry();
  return { registry, metrics: new WalMetrics(registry, () => ({ bytes: 0, segments: 0 })) };
};

/** Replays `dir()` and returns the sequences seen and the segments. */
const replayAll = (metrics: WalMetrics, coarseEnd = (r: WalRecord) => r.receivedAt + 10) => {
  const seen: number[] = [];
  const segments = replayWal(
    dir(),
    (r) => {
      seen.push(r.sequence);
      return coarseEnd(r);
    },
    metrics,
  );
  return { seen, segments };
};

const options = (overrides: Partial<{ segmentBytes: number; maxBytes: number }> = {}) => ({
  dir: dir(),
  segmentBytes: 1000,
  maxBytes: 1_000_000,
  syncIntervalMs: 0,
  ...overrides,
});

describe('write-ahead log segments', () => {
  it('appends, rotates by size, and replays every record in order across segments', () => {
    const { metrics } = setup();
    const writer = new WalWriter(options(), [], 0, metrics);
    for (let n = 1; n <= 30; n++) expect(writer.append(record(n))).toBe(true);
    writer.close();
    const files = readdirSync(dir()).filter((f) => f.endsWith('.wal'));
    // ~140 bytes a record, 1000 a segment: 7 a segment.
    expect(files.length).toBe(5);
    for (const file of files) expect(statSync(join(dir(), file)).size).toBeLessThanOrEqual(1000);
    const replay = replayAll(setup().metrics);
    expect(replay.seen).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(metrics.appendedRecords.value).toBe(30);
  });

  it('a torn tail is cut off and counted, the records before it kept, and a restart does not meet it again', () => {
    const { metrics } = setup();
    const writer = new WalWriter(options({ segmentBytes: 1 << 20 }), [], 0, metrics);
    for (let n = 1; n <= 3; n++) writer.append(record(n));
    writer.close();
    const path = segmentPath(dir(), 1);
    const good = statSync(path).size;
    const torn = encodeRecord(record(4)).subarray(0, 50);
    appendFileSync(path, torn);
    const first = setup();
    expect(replayAll(first.metrics).seen).toEqual([1, 2, 3]);
    expect(first.metrics.tornBytes.truncated('short').value).toBe(50);
    expect(statSync(path).size).toBe(good);
    const again = setup();
    expect(replayAll(again.metrics).seen).toEqual([1, 2, 3]);
    expect(again.metrics.tornBytes.truncated('short').value).toBe(0);
  });

  it('a record with a bad CRC ends its segment there (counted); later segments still replay', () => {
    const { metrics } = setup();
    const writer = new WalWriter(options(), [], 0, metrics);
    for (let n = 1; n <= 14; n++) writer.append(record(n));
    writer.close();
    const path = segmentPath(dir(), 1);
    const data = readFileSync(path);
    const second = data.readUInt32LE(0) + 8;
    data[second + 40] = data[second + 40]! ^ 1;
    writeFileSync(path, data);
    const after = setup();
    const { seen } = replayAll(after.metrics);
    expect(seen).toEqual([1, 8, 9, 10, 11, 12, 13, 14]);
    expect(after.metrics.tornBytes.truncated('crc').value).toBe(data.length - second);
    expect(statSync(path).size).toBe(second);
  });

  it('trim deletes closed segments whose windows all end at or before the watermark, floor first', () => {
    const { metrics } = setup();
    const writer = new WalWriter(options(), [], 0, metrics);
    for (let n = 1; n <= 21; n++) {
      writer.append(record(n));
      // Records 1-7 fall in windows ending 1010, 8-14 in 1020, 15-21 in 1030.
      const end = 1000 + 10 * Math.ceil(n / 7);
      writer.noteCoarseEnd(end);
    }
    writer.trim(1010);
    expect(readReplayFloor(dir())).toBe(1010);
    expect(existsSync(segmentPath(dir(), 1))).toBe(false);
    expect(existsSync(segmentPath(dir(), 2))).toBe(true);
    expect(metrics.deletedSegments.value).toBe(1);
    // The current segment is never deleted, whatever the watermark.
    writer.trim(5000);
    expect(existsSync(segmentPath(dir(), 3))).toBe(true);
    expect(readdirSync(dir()).filter((f) => f.endsWith('.wal'))).toEqual(['0000000000000003.wal']);
    writer.close();
  });

  it('past max_bytes the oldest segments are dropped, their bytes counted, and the floor rises past their windows', () => {
    const { metrics } = setup();
    writeReplayFloor(dir(), 0);
    const writer = new WalWriter(options({ maxBytes: 2500 }), [], 0, metrics);
    for (let n = 1; n <= 30; n++) {
      writer.append(record(n));
      writer.noteCoarseEnd(2000 + n);
    }
    expect(writer.bytes).toBeLessThanOrEqual(2500);
    expect(metrics.droppedBytes.value).toBeGreaterThan(0);
    expect(metrics.droppedBytes.value + writer.bytes).toBe(metrics.appendedBytes.value);
    const floor = readReplayFloor(dir())!;
    writer.close();
    const { seen, segments } = replayAll(setup().metrics);
    // Every record still in the log is newer than every dropped one, and the floor covers the dropped ones' windows.
    expect(seen[0]).toBe(floor - 2000 + 1);
    expect(seen[seen.length - 1]).toBe(30);
    expect(segments.reduce((sum, s) => sum + s.bytes, 0)).toBe(writer.bytes);
  });

  it('a writer opened after a replay appends to a new segment after the old ones', () => {
    const { metrics } = setup();
    const first = new WalWriter(options(), [], 0, metrics);
    first.append(record(1));
    first.close();
    const { segments } = replayAll(setup().metrics);
    const second = new WalWriter(options(), segments, 0, metrics);
    second.append(record(2));
    second.close();
    expect(replayAll(setup().metrics).seen).toEqual([1, 2]);
    expect(readdirSync(dir()).filter((f) => f.endsWith('.wal'))).toEqual([
      '0000000000000001.wal',
      '0000000000000002.wal',
    ]);
  });
});
