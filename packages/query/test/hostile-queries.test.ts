/**
 * Patterns that make a backtracking engine run for minutes ((a+)+$ over a long run of a's, *a*a*a*b globs) are
 * answered at once: regexes and globs run on RE2JS, linear in the text. A pattern RE2 cannot run is a 400.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBatch, parseResolutions, statPointOf, type Resolution } from '@carillon/core';
import { compileNodeGlob, compileRegex, createGraphiteApi, MemoryStore, SeriesIndex } from '@carillon/query';

const NOW = 1_700_000_400;
const resolutions = parseResolutions(['10s:1h']);
const LONG = 'a'.repeat(60);
const NAMES = [`hostile.${LONG}`, `tagged;k=${LONG}!`, `hostile.${'a'.repeat(40)}c`];
let server: Server;
let base: string;

beforeAll(async () => {
  const store = new MemoryStore({ now: () => NOW });
  const index = new SeriesIndex();
  for (const name of NAMES) {
    index.add(name);
    await store.write(makeBatch(resolutions[0] as Resolution, NOW - 20, [[name, statPointOf(NOW - 20, 1)]]));
  }
  const api = createGraphiteApi({ index, reader: store, pending: { pending: () => [] }, resolutions, now: () => NOW });
  server = createServer((req, res) => void api(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function timed(path: string): Promise<{ status: number; ms: number; body: string }> {
  const started = performance.now();
  const response = await fetch(base + path);
  const body = await response.text();
  return { status: response.status, ms: performance.now() - started, body };
}

const q = encodeURIComponent;

describe('hostile patterns', () => {
  it('matches catastrophic regexes and globs in linear time', () => {
    const started = performance.now();
    expect(compileRegex('(a+)+$', 'test').test('a'.repeat(5000))).toBe(true);
    expect(compileRegex('(a+)+$', 'test').test(`${'a'.repeat(5000)}!`)).toBe(false);
    expect(compileRegex('^(a|aa)+$', 'test').test(`${'a'.repeat(5000)}!`)).toBe(false);
    expect(compileNodeGlob('*a*a*a*a*a*a*a*b').test('a'.repeat(5000))).toBe(false);
    expect(compileNodeGlob(`${'{a,aa}'.repeat(40)}b`).test('a'.repeat(60))).toBe(false);
    expect(compileNodeGlob('web*[0-9]').test(`web${'1'.repeat(5000)}x`)).toBe(false);
    expect(performance.now() - started).toBeLessThan(2000);
  });

  const queries = [
    `/render?target=${q("seriesByTag('k=~(a+)+$')")}&from=-1min`,
    `/render?target=${q("seriesByTag('k=~(a|aa)+b')")}&from=-1min`,
    `/render?target=${q('aliasSub(hostile.*, "(a+)+$", "x")')}&from=-1min`,
    `/render?target=${q('grep(hostile.*, "(a|a)+b")')}&from=-1min`,
    `/render?target=${q('hostile.*a*a*a*a*a*a*a*b')}&from=-1min`,
    `/metrics/find?query=${q('hostile.*a*a*a*a*a*a*a*a*b')}`,
    `/metrics/find?query=${q(`hostile.${'{a,aa}'.repeat(30)}b`)}`,
    `/tags/k?filter=${q('(a+)+$')}`,
    `/tags?filter=${q('(k+)+x')}`,
  ];
  it.each(queries)('answers %s at once', async (path) => {
    const { status, ms } = await timed(path);
    expect(status).toBe(200);
    expect(ms).toBeLessThan(1000);
  });

  it('answers the catastrophic alias with the substitution Python makes', async () => {
    const { body } = await timed(`/render?target=${q('aliasSub(hostile.*, "(a+)+$", "x")')}&from=-1min`);
    expect((JSON.parse(body) as { target: string }[]).map((s) => s.target)).toEqual([
      'hostile.x',
      `hostile.${'a'.repeat(40)}c`,
    ]);
  });

  it('refuses what RE2 cannot run (backreferences, lookaround) with 400', async () => {
    for (const target of ['grep(hostile.*, "(a)\\1")', 'exclude(hostile.*, "a(?=c)")']) {
      const { status, body } = await timed(`/render?target=${q(target)}&from=-1min`);
      expect(status, body).toBe(400);
      expect(body).toContain('invalid regular expression');
    }
  });
});
