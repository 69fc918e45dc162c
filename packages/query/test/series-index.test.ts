import { describe, expect, it } from 'vitest';
import { MetricsRegistry } from '@carillon/core';
import { parseTagQuery, QueryError, SeriesIndex } from '@carillon/query';

function indexOf(names: string[], maxSeries?: number): SeriesIndex {
  const index = new SeriesIndex({ maxSeries });
  for (const name of names) index.add(name);
  return index;
}

describe('SeriesIndex paths', () => {
  const index = indexOf([
    'servers.web1.cpu.user',
    'servers.web1.cpu.system',
    'servers.web2.cpu.user',
    'servers.db1.disk',
    'servers.db1.disk.sda',
    'stats.count',
  ]);

  it('finds nodes level by level with leaf and branch flags', () => {
    expect(index.find('servers.*', 100)).toEqual([
      { path: 'servers.db1', name: 'db1', leaf: false, branch: true },
      { path: 'servers.web1', name: 'web1', leaf: false, branch: true },
      { path: 'servers.web2', name: 'web2', leaf: false, branch: true },
    ]);
    expect(index.find('servers.web{1,2}.cpu.u*', 100).map((n) => n.path)).toEqual([
      'servers.web1.cpu.user',
      'servers.web2.cpu.user',
    ]);
  });

  it('reports a node that is both a series and a parent', () => {
    expect(index.find('servers.db1.disk', 100)).toEqual([
      { path: 'servers.db1.disk', name: 'disk', leaf: true, branch: true },
    ]);
  });

  it('answers nothing for unknown paths and more nodes than the limit with a QueryError', () => {
    expect(index.find('servers.nope.*', 100)).toEqual([]);
    expect(index.find('servers.web1.cpu.user.deeper', 100)).toEqual([]);
    expect(() => index.find('servers.*', 2)).toThrow(QueryError);
    expect(() => index.find('servers.*', 2)).toThrow(/matches more than 2 nodes/);
  });

  it('marks a node leaf and branch whichever of its series and its children came first', () => {
    const later = indexOf(['x.y.z', 'x.y', 'x.w', 'x.w.v']);
    expect(later.find('x.*', 10)).toEqual([
      { path: 'x.w', name: 'w', leaf: true, branch: true },
      { path: 'x.y', name: 'y', leaf: true, branch: true },
    ]);
    expect(later.find('x.*.*', 10).map((n) => [n.path, n.leaf, n.branch])).toEqual([
      ['x.w.v', true, false],
      ['x.y.z', true, false],
    ]);
    expect([...later.names()].sort()).toEqual(['x.w', 'x.w.v', 'x.y', 'x.y.z']);
    expect(later.has('x.y') && later.has('x.w.v') && !later.has('x') && !later.has('x.y.q')).toBe(true);
  });

  it('answers the same for a node of a few leaves and one of hundreds, some of them later parents', () => {
    // A few leaves are kept in an array, many in a Set: every count between, each leaf turned parent in both.
    const names: string[] = [];
    for (const leaves of [1, 3, 63, 64, 65, 300]) for (let i = 0; i < leaves; i++) names.push(`p${leaves}.m${i}`);
    const parents = names.filter((_, i) => i % 7 === 3).map((name) => `${name}.sub`);
    const index = indexOf([...names, ...parents]);
    expect(index.size).toBe(names.length + parents.length);
    expect([...index.names()].sort()).toEqual([...names, ...parents].sort());
    for (const leaves of [1, 3, 63, 64, 65, 300]) {
      const children = names.filter((name) => name.startsWith(`p${leaves}.`));
      expect(index.find(`p${leaves}.*`, 1000)).toEqual(
        children.sort().map((path) => ({
          path,
          name: path.slice(path.indexOf('.') + 1),
          leaf: true,
          branch: parents.includes(`${path}.sub`),
        })),
      );
      expect(index.find(`p${leaves}.m${leaves - 1}`, 10).map((n) => n.path)).toEqual([`p${leaves}.m${leaves - 1}`]);
      expect(index.has(`p${leaves}.m${leaves}`)).toBe(false);
    }
    for (const name of [...names, ...parents]) expect(index.has(name), name).toBe(true);
  });

  it('keeps tagged series out of the path tree', () => {
    const tagged = indexOf(['disk.used;dc=east']);
    expect(tagged.find('disk.*', 10)).toEqual([]);
    expect(tagged.has('disk.used;dc=east')).toBe(true);
  });
});

describe('SeriesIndex bounds', () => {
  it('refuses names past maxSeries and counts them, while known names stay cheap and accepted', () => {
    const metrics = new MetricsRegistry();
    const index = new SeriesIndex({ maxSeries: 2, metrics });
    expect(index.add('a.b')).toBe(true);
    expect(index.add('a.c;k=v')).toBe(true);
    expect(index.add('a.d')).toBe(false);
    expect(index.add('a.b')).toBe(true);
    expect(index.add('a.e')).toBe(false);
    expect(index.size).toBe(2);
    expect(index.refused).toBe(2);
    expect(metrics.value('query_index_refused_total')).toBe(2);
    expect(metrics.render()).toContain('carillon_query_index_series 2');
    expect(index.find('a.*', 10).map((n) => n.path)).toEqual(['a.b']);
  });
});

describe('SeriesIndex tags', () => {
  const index = indexOf([
    'disk.used;dc=east;host=a',
    'disk.used;dc=west;host=b',
    'disk.free;dc=east;host=a',
    'net.rx;host=c',
    'plain.path',
  ]);
  const find = (...exprs: string[]) => index.findTagged(parseTagQuery(exprs), 100);

  it('lists tag names and values with counts', () => {
    expect(index.tagNames()).toEqual(['dc', 'host', 'name']);
    expect(index.tagValues('dc')).toEqual([
      { value: 'east', count: 2 },
      { value: 'west', count: 1 },
    ]);
    expect(index.tagValues('nope')).toEqual([]);
  });

  const table: [exprs: string[], expected: string[]][] = [
    [['dc=east'], ['disk.free;dc=east;host=a', 'disk.used;dc=east;host=a']],
    [['name=disk.used'], ['disk.used;dc=east;host=a', 'disk.used;dc=west;host=b']],
    [['name=disk.used', 'dc!=east'], ['disk.used;dc=west;host=b']],
    [
      ['host=~[ab]', 'name=~disk.u'],
      ['disk.used;dc=east;host=a', 'disk.used;dc=west;host=b'],
    ],
    [
      ['name=~disk', 'dc!=~w.*'],
      ['disk.free;dc=east;host=a', 'disk.used;dc=east;host=a'],
    ],
    // regexes are anchored at the start only
    [['name=~used'], []],
    [['name=~.*used'], ['disk.used;dc=east;host=a', 'disk.used;dc=west;host=b']],
    // `tag=` matches series without the tag; `tag!=` those with it
    [['host=~.+', 'dc='], ['net.rx;host=c']],
    [
      ['name=~.*', 'dc!='],
      ['disk.free;dc=east;host=a', 'disk.used;dc=east;host=a', 'disk.used;dc=west;host=b'],
    ],
    [['dc=north'], []],
  ];
  it.each(table)('%j', (exprs, expected) => {
    expect(find(...exprs)).toEqual(expected);
  });

  it('refuses queries without a value-requiring expression, bad regexes and too many matches', () => {
    expect(() => find('dc!=east')).toThrow(/needs at least one expression that requires a non-empty value/);
    expect(() => find('dc=~.*')).toThrow(/needs at least one expression/);
    expect(() => find('dc=~(')).toThrow(/invalid regular expression in tag expression "dc=~\("/);
    expect(() => find('novalue')).toThrow(/invalid tag expression "novalue"/);
    expect(() => index.findTagged(parseTagQuery(['name=~.+']), 2)).toThrow(/matches more than 2 series/);
  });
});
