// The catalogue's redis, mysql and prometheus writers against their real servers: 20 flush batches of 10,000
// series written into each writer as fast as its queue takes them, then close(); points over the time from the
// first write to the end of close (queue, statements, the server's answers). Redis at REDIS_URL or 127.0.0.1:6379,
// MySQL/MariaDB at MYSQL_URL or 127.0.0.1:3306 (root, no password); prometheus is measured as the writes it takes
// and the time one scrape of its 10,000 series takes.
import { performance } from 'node:perf_hooks';
import {
  ConfigSource,
  createLogger,
  DEFAULT_AGGREGATION_RULES,
  makeBatch,
  MetricsRegistry,
  nowSeconds,
  parseResolutions,
  windowStart,
  type FlushBatch,
  type RawTable,
  type Writer,
} from '@carillon/core';
import { WRITER_TYPES } from '@carillon/writers';
import type { BenchRow } from '../../../bench/row.ts';

const SERIES = 10_000;
const BATCHES = 20;
const resolutions = parseResolutions(['10s:168h', '1m:720h']);
const names = Array.from({ length: SERIES }, (_, i) => `bench.host${i % 100}.metric${Math.floor(i / 100)}.value`);
const run = `${Date.now().toString(36)}${process.pid}`;

function batchAt(time: number): FlushBatch {
  return makeBatch(
    resolutions[0]!,
    time,
    names.map((name, i) => [name, { time, min: i, max: i + 2, sum: 3 * i + 3, first: i, last: i + 2, count: 3 }]),
  );
}

async function open(entry: RawTable, registry: MetricsRegistry): Promise<Writer> {
  const type = WRITER_TYPES.find((t) => t.type === entry.type)!;
  return type.prepare(new ConfigSource(entry), { spillDir: '' }).open({
    registry,
    logger: createLogger('bench', 'warn'),
    resolutions,
    aggregationRules: DEFAULT_AGGREGATION_RULES,
  });
}

async function pushed(label: string, entry: RawTable, note: string): Promise<BenchRow> {
  const registry = new MetricsRegistry();
  // close() waits for the whole queue: the figure is the time to deliver it all.
  const writer = await open({ ...entry, close_timeout: '600s' }, registry);
  const start = windowStart(nowSeconds(), 10) - 10 * (BATCHES + 1);
  const t = performance.now();
  for (let b = 0; b < BATCHES; b++) await writer.write(batchAt(start + 10 * b));
  // The adaptive batch size, sampled while the queue drains.
  let batch = 0;
  const sampler = setInterval(() => {
    const size = registry.render().match(new RegExp(`writer_batch_size_points\\{writer="${label}"\\} (\\d+)`))?.[1];
    batch = Math.max(batch, Number(size ?? 0));
  }, 100);
  await writer.close();
  clearInterval(sampler);
  const seconds = (performance.now() - t) / 1000;
  const written = registry.value('writer_points_written_total', label);
  if (written !== SERIES * BATCHES) throw new Error(`${label}: wrote ${written} points, expected ${SERIES * BATCHES}`);
  return {
    name: `${label}: ${BATCHES} x ${SERIES} series`,
    value: written / seconds,
    unit: 'points/s',
    note: `${note}; largest batch ${batch} points`,
  };
}

async function prometheus(): Promise<BenchRow[]> {
  const registry = new MetricsRegistry();
  const writer = await open({ type: 'prometheus', listen: '127.0.0.1:0' }, registry);
  const start = windowStart(nowSeconds(), 10) - 10 * (BATCHES + 1);
  const t = performance.now();
  for (let b = 0; b < BATCHES; b++) await writer.write(batchAt(start + 10 * b));
  const writeSeconds = (performance.now() - t) / 1000;
  const port = (writer as Writer & { port: number }).port;
  const s = performance.now();
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const scrapeMs = performance.now() - s;
  await writer.close();
  return [
    {
      name: `prometheus: ${BATCHES} x ${SERIES} series`,
      value: (SERIES * BATCHES) / writeSeconds,
      unit: 'points/s',
      note: 'mapping and value per point',
    },
    { name: `prometheus: one scrape of ${SERIES} series`, value: scrapeMs, unit: 'ms', note: `${text.length} bytes` },
  ];
}

export default async function bench(): Promise<BenchRow[]> {
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const mysql = process.env.MYSQL_URL ? new URL(process.env.MYSQL_URL) : new URL('mysql://root@127.0.0.1:3306');
  const database = `bench_${run}`;
  const mysqlEntry = {
    type: 'mysql',
    host: mysql.hostname,
    port: Number(mysql.port || 3306),
    user: decodeURIComponent(mysql.username || 'root'),
    password: decodeURIComponent(mysql.password),
    database,
  };
  const rows = [
    await pushed('redis', { type: 'redis', url: redisUrl, key_prefix: `bench:${run}:` }, 'hashes only'),
    await pushed(
      'redis',
      { type: 'redis', url: redisUrl, key_prefix: `bench:${run}:s:`, stream_max_len: 100 },
      'hashes and streams',
    ),
    await pushed('mysql', mysqlEntry, 'INSERTs of 1,000 rows'),
    ...(await prometheus()),
  ];
  // Leave nothing behind on the shared servers.
  const { Redis } = await import('ioredis');
  const redis = new Redis(redisUrl);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `bench:${run}:*`, 'COUNT', 10_000);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  redis.disconnect();
  const { createConnection } = await import('mysql2/promise');
  const sql = await createConnection({
    host: mysqlEntry.host,
    port: mysqlEntry.port,
    user: mysqlEntry.user,
    password: mysqlEntry.password,
  });
  await sql.query(`DROP DATABASE IF EXISTS ${database}`);
  sql.destroy();
  return rows;
}
