/** The blob keys of `[cassandra]`: defaults, one schema for every resolution or one per resolution, key-naming errors. */
import { describe, expect, it } from 'vitest';
import { ConfigSource, parseOverrides, parseResolutions } from '@carillon/core';
import { readBlobConfig, usesBlobs } from '@carillon/writers';

const resolutions = parseResolutions(['10s:168h', '1m:720h', '10m:21600h']);
const read = (cassandra: Record<string, unknown>, sets: string[] = []) =>
  readBlobConfig(new ConfigSource({ cassandra }, {}, parseOverrides(sets)), resolutions);

describe('[cassandra] blob keys', () => {
  it('defaults to flat rows everywhere, 360-window chunks, a 60 s persist interval', () => {
    const config = read({});
    expect(config.schemas).toEqual(['flat', 'flat', 'flat']);
    expect(config.chunkSpans).toEqual([3600, 21600, 216000]);
    expect(config.persistIntervalMs).toBe(60_000);
    expect(config.maxChunkBytes).toBe(16_384);
    expect(config.maxCacheBytes).toBe(256 << 20);
    expect(config.maxKnownSeries).toBe(1_000_000);
    expect(usesBlobs(config)).toBe(false);
  });

  it('takes one schema for every resolution, or one per resolution, and spans as durations', () => {
    expect(read({ schema: ['blob'] }).schemas).toEqual(['blob', 'blob', 'blob']);
    const config = read(
      { schema: ['both', 'blob', 'flat'], chunk_spans: ['1h', '1d', '1w'], chunk_persist_interval: '10s' },
      ['cassandra.chunk_max_bytes=4096', 'cassandra.chunk_cache_max_bytes=1048576'],
    );
    expect(config.schemas).toEqual(['both', 'blob', 'flat']);
    expect(config.chunkSpans).toEqual([3600, 86_400, 604_800]);
    expect(config.persistIntervalMs).toBe(10_000);
    expect(config.maxChunkBytes).toBe(4096);
    expect(config.maxCacheBytes).toBe(1 << 20);
    expect(usesBlobs(config)).toBe(true);
    expect(read({}, ['cassandra.schema=flat,blob,both']).schemas).toEqual(['flat', 'blob', 'both']);
  });

  it('names the key and the entry in its errors', () => {
    expect(() => read({ schema: ['flat', 'blob'] })).toThrowError(
      'config: cassandra.schema: needs 3 entries, one per entry of times',
    );
    expect(() => read({ schema: ['flat', 'blobs', 'flat'] })).toThrowError(
      'config: cassandra.schema[1]: must be one of flat, blob, both, got "blobs"',
    );
    expect(() => read({ chunk_spans: ['1h', '90s', '1d'] })).toThrowError(
      'config: cassandra.chunk_spans[1]: 90s must be a whole multiple of the step 60s',
    );
    expect(() => read({ chunk_spans: ['1h', 'soon', '1d'] })).toThrowError('config: cassandra.chunk_spans[1]:');
    expect(() => read({ chunk_spans: ['1h'] })).toThrowError('config: cassandra.chunk_spans: needs 3 entries');
    expect(() => read({ chunk_persist_interval: '0s' })).toThrowError(
      'config: cassandra.chunk_persist_interval: must be at least 1s',
    );
    expect(() => read({ chunk_max_bytes: 10 })).toThrowError('config: cassandra.chunk_max_bytes: must be at least 64');
  });
});
