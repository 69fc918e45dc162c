/**
 * graphite-web and carillon over one freshly written set of whisper files, for a test file: started in its
 * beforeAll, stopped in its afterAll. Requests carry graphite-web's `now`, so both read the files at NOW.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { startCarillon, type Carillon } from './carillon.js';
import { GraphiteWeb, writeFixture } from './graphite-web.js';

/** 2026-01-01 00:00:05 UTC: 5 s past a step boundary, so "now" is never aligned by accident. */
export const NOW = 1_767_225_605;

export interface Servers {
  graphiteWeb: GraphiteWeb;
  carillon: Carillon;
}

export function useServers(): () => Servers {
  const dir = mkdtempSync(join(tmpdir(), 'carillon-graphite-web-'));
  let servers: Servers | undefined;
  beforeAll(async () => {
    writeFixture(join(dir, 'whisper'), NOW);
    const graphiteWeb = await GraphiteWeb.start(join(dir, 'whisper'), join(dir, 'graphite-web'));
    servers = { graphiteWeb, carillon: await startCarillon(join(dir, 'whisper'), NOW) };
  }, 120_000);
  afterAll(async () => {
    await servers?.carillon.stop();
    await servers?.graphiteWeb.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return () => {
    if (!servers) throw new Error('the servers are not started');
    return servers;
  };
}

/** A /render path with `now=NOW` and format=json unless the params say otherwise. */
export function renderPath(params: Record<string, string | string[]>): string {
  const query = new URLSearchParams({ now: String(NOW) });
  for (const [key, value] of Object.entries(params))
    for (const item of Array.isArray(value) ? value : [value]) query.append(key, item);
  if (!query.has('format')) query.set('format', 'json');
  return `/render?${query.toString()}`;
}
