import { describe, expect, it } from 'vitest';
import { seriesId, splitCanonical } from '@carillon/core';
import { idsAndShards } from '@carillon/writers';

describe('write pool series ids', () => {
  it('are bit for bit core seriesId (FNV-1a 64, signed) and pick workers by the low bits', () => {
    const names = [
      'a',
      'servers.web1.cpu.user',
      'stats_counts.ünïcødé.requests',
      'disk.used;dc=eu;host=a',
      'x'.repeat(300),
      ...Array.from({ length: 200 }, (_, i) => `load.test.series${i};k=${i % 7}`),
    ];
    const { ids, shards } = idsAndShards(names, 3);
    names.forEach((name, i) => {
      const { path, tags } = splitCanonical(name);
      const expected = seriesId(path, tags);
      expect(ids[i]).toBe(expected);
      expect(shards[i]).toBe(Number(BigInt.asUintN(32, expected) % 3n));
    });
    const perWorker = [0, 1, 2].map((w) => [...shards].filter((s) => s === w).length);
    for (const count of perWorker) expect(count).toBeGreaterThan(40);
  });
});
