/** The redis, mysql and prometheus entries of `[[writers]]`: defaults, and bad values stopping with the key named. */
import { describe, expect, it } from 'vitest';
import { ConfigSource } from '@carillon/core';
import { readWriters, WRITER_TYPES } from '@carillon/writers';

function read(entries: Record<string, unknown>[]) {
  return readWriters(new ConfigSource({ writers: entries }), WRITER_TYPES, { spillDir: '' });
}

describe('[[writers]] redis, mysql, prometheus', () => {
  it('take their defaults', () => {
    expect(read([{ type: 'redis' }, { type: 'mysql' }, { type: 'prometheus' }]).map((w) => w.name)).toEqual([
      'redis',
      'mysql',
      'prometheus',
    ]);
  });

  it('refuse a database or table name that is not a plain identifier', () => {
    expect(() => read([{ type: 'mysql', database: 'x; DROP' }])).toThrow(/writers\[0\]\.database/);
    expect(() => read([{ type: 'mysql', path_table: '1bad' }])).toThrow(/writers\[0\]\.path_table/);
  });

  it('refuse bad mapping rules and an empty listen address', () => {
    expect(() => read([{ type: 'prometheus', rules: [{ match: 'a.*', name: 'a', labels: { 'x-y': '$1' } }] }])).toThrow(
      /writers\[0\]\.rules\[0\]\.labels/,
    );
    expect(() => read([{ type: 'prometheus', rules: [{ match: 'a.*', name: 'a', extra: 1 }] }])).toThrow(
      /writers\[0\]\.rules\[0\]\.extra/,
    );
    expect(() => read([{ type: 'prometheus', listen: '' }])).toThrow(/writers\[0\]\.listen/);
  });

  it('refuse unknown keys and out-of-range values', () => {
    expect(() => read([{ type: 'redis', stream_maxlen: 5 }])).toThrow(/stream_maxlen/);
    expect(() => read([{ type: 'redis', series_per_call: 0 }])).toThrow(/writers\[0\]\.series_per_call/);
    expect(() => read([{ type: 'mysql', batch_count: 0 }])).toThrow(/writers\[0\]\.batch_count/);
  });
});
