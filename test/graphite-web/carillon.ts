/**
 * carillon's Graphite API over the same whisper files graphite-web reads: createGraphiteApi over a WhisperStore
 * (as the all-in-one opens it), its index rebuilt from the files, nothing pending, on a loopback port.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MetricsRegistry, parseResolutions, type PendingSource } from '@carillon/core';
import { createGraphiteApi, SeriesIndex } from '@carillon/query';
import { WhisperStore } from '@carillon/writers';

/** The archives graphite_web.py writes: 10s:6h and 1m:48h. */
export const RESOLUTIONS = parseResolutions(['10s:6h', '1m:48h']);

const NOTHING_PENDING: PendingSource = { pending: () => [] };

export interface Carillon {
  base: string;
  get(path: string): Promise<{ status: number; type: string; body: Buffer }>;
  /** Its counters, as /metrics would show them. */
  metrics(): string;
  stop(): Promise<void>;
}

export async function startCarillon(whisperDir: string, now: number): Promise<Carillon> {
  const store = new WhisperStore({ dataDir: whisperDir, resolutions: RESOLUTIONS }, { clock: () => now });
  const index = new SeriesIndex();
  for (const name of await store.listSeries()) index.add(name);
  const registry = new MetricsRegistry();
  const api = createGraphiteApi({
    metrics: registry,
    index,
    reader: store,
    // the workers read the files themselves, as a node's do
    workerReader: store.workerReader(),
    pending: NOTHING_PENDING,
    resolutions: RESOLUTIONS,
    now: () => now,
    // in render workers, as a node runs them, so the differential test covers the worker path
    render: { workers: 2, timeBudgetMs: 60_000, memoryBudgetBytes: 1 << 30, maxQueued: 64 },
  });
  const server: Server = createServer((req, res) => {
    void api(req, res).then((handled) => {
      if (!handled) res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    async get(path) {
      const response = await fetch(base + path);
      return {
        status: response.status,
        type: response.headers.get('content-type') ?? '',
        body: Buffer.from(await response.arrayBuffer()),
      };
    },
    metrics: () => registry.render(),
    async stop() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await api.close();
      await store.close();
    },
  };
}
