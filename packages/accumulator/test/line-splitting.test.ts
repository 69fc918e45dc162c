import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Health, MetricsRegistry, parseResolutions } from '@carillon/core';
import { Aggregator, DEFAULT_STATSD_OPTIONS, type FlushSink } from '@carillon/aggregator';
import { LineIngest, startHttpServer, type RunningHttpServer } from '@carillon/accumulator';

const NOW = 1000;
const sink: FlushSink = { overloaded: () => false, write: () => {} };

function newIngest(): { ingest: LineIngest; registry: MetricsRegistry } {
  const registry = new MetricsRegistry();
  const aggregator = new Aggregator(
    {
      resolutions: parseResolutions(['1s:1h']),
      graceSeconds: 2,
      maxFutureSeconds: 60,
      maxPendingPoints: 1000,
      maxStatsdIntervalValues: 1000,
    },
    DEFAULT_STATSD_OPTIONS,
    { sink, metrics: registry, clock: { now: () => NOW * 1000 } },
  );
  return { ingest: new LineIngest(aggregator, registry, { nowSeconds: () => NOW }), registry };
}

// POST /lines and relay batches cut bodies into lines with the protocols' one splitter (forEachLine).
const body =
  'a.b 1 1000\r\n' + // CRLF
  '\n\r\n' + // empty lines: skipped, not counted
  '   \n' + // spaces only: a line, refused as malformed_line
  `long.x${' '.repeat(70_000)}1 1000\n` + // no per-line limit: the body is bounded as a whole
  'a.b 1 1 1\n' + // four fields
  'c.d 2 1000'; // partial last line
const expected = { accepted: 3, rejected: { malformed_line: 2 } };

describe('line splitting of whole bodies', () => {
  let server: RunningHttpServer;
  let registry: MetricsRegistry;
  beforeAll(async () => {
    const made = newIngest();
    registry = made.registry;
    server = await startHttpServer(
      {
        listen: { host: '127.0.0.1', port: 0 },
        maxBodyBytes: 1 << 20,
        requestTimeoutMs: 5000,
        headersTimeoutMs: 5000,
        maxConnections: 100,
      },
      {
        registry,
        ingest: made.ingest,
        graphiteApi: () => Promise.resolve(false),
        health: new Health(),
        details: () => ({}),
      },
    );
  });
  afterAll(() => server.close());

  it('POST /lines', async () => {
    const response = await fetch(`http://127.0.0.1:${server.port}/lines?format=graphite`, { method: 'POST', body });
    expect(await response.json()).toEqual(expected);
    expect(registry.value('lines_received_total', 'graphite')).toBe(5);
  });

  it('a relay batch', () => {
    const { ingest } = newIngest();
    const outcome = ingest.ingestBatch('graphite', Buffer.from(body), NOW);
    expect({ accepted: outcome.accepted, rejected: outcome.rejected }).toEqual({ accepted: 3, rejected: 2 });
  });

  it('StatsD bodies the same way', async () => {
    const statsd = 'a:1|c\r\n\n  \nb:2|c';
    const response = await fetch(`http://127.0.0.1:${server.port}/lines?format=statsd`, {
      method: 'POST',
      body: statsd,
    });
    const posted: unknown = await response.json();
    const { ingest } = newIngest();
    const outcome = ingest.ingestBatch('statsd', Buffer.from(statsd), NOW);
    expect(posted).toEqual({ accepted: 2, rejected: { malformed_line: 1 } });
    expect({ accepted: outcome.accepted, rejected: outcome.rejected }).toEqual({ accepted: 2, rejected: 1 });
  });
});

describe('names refused at parse time', () => {
  it('refuses over-long, over-tagged and unstorable names and never counts them accepted', () => {
    const registry = new MetricsRegistry();
    const aggregator = new Aggregator(
      {
        resolutions: parseResolutions(['1s:1h']),
        graceSeconds: 2,
        maxFutureSeconds: 60,
        maxPendingPoints: 1000,
        maxStatsdIntervalValues: 1000,
        maxSeriesBytes: 1 << 20,
      },
      DEFAULT_STATSD_OPTIONS,
      { sink, metrics: registry, clock: { now: () => NOW * 1000 } },
    );
    const ingest = new LineIngest(aggregator, registry, {
      nowSeconds: () => NOW,
      names: { maxLength: 64, maxTags: 1, maxTagLength: 16 },
      storable: (name) => !name.includes('unstorable'),
    });
    const lines = [
      `a.${'x'.repeat(70)} 1`,
      'a.b;x=1;y=2 1',
      `a.b;x=${'v'.repeat(20)} 1`,
      'a.unstorable 1',
      'a.fine;x=1 1',
    ].join('\n');
    const outcome = ingest.ingestBatch('graphite', Buffer.from(lines), NOW);
    expect(outcome).toMatchObject({ accepted: 1, rejected: 4 });
    expect(Object.fromEntries(outcome.refused)).toEqual({
      name_too_long: 1,
      too_many_tags: 1,
      tag_too_long: 1,
      unstorable_name: 1,
    });
    expect(registry.value('lines_accepted_total', 'graphite')).toBe(1);
    expect([...aggregator.seriesNames()]).toEqual(['a.fine;x=1']);
  });
});
