/**
 * Differential test: the reference StatsD daemon (npm statsd 0.9.0) and carillon's all-in-one receive the same
 * datagrams; every output series name and value of every flush must be equal, or be a difference listed in
 * docs/STATSD.md (checked rule by rule in compare.ts). Several option sets; the first is the large run (over
 * 10,000 keys, 7 flushes).
 *
 * Timing: the reference flushes every interval from its start-up second, carillon on wall-clock multiples of
 * the interval; the reference is started so that its flushes fall on those multiples, and each interval's
 * traffic is sent in its first half. A reference flush stamped T (the interval's end) is carillon's window
 * T - step (its start).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createSocket, type Socket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../support/ports.js';
import { sleep } from '../support/wait.js';
import { readWindows, startCarillon, statsdLinesAccepted } from './carillon.js';
import { compareFlushes } from './compare.js';
import { startReferenceDaemon } from './reference-daemon.js';
import { generateTraffic, packDatagrams, type TrafficShape } from './traffic.js';

const STEP = 2;
/** Traffic for an interval is sent from this many ms after its start, over SEND_MS. */
const SEND_OFFSET_MS = 250;
const SEND_MS = 800;
/** An interval's sending must be over by then, well before the flush at its end. */
const SEND_DEADLINE_MS = 1500;

interface OptionSet {
  name: string;
  /** Reference config (top level; prefixes and legacyNamespace under `graphite`, as there). */
  reference: Record<string, unknown>;
  /** carillon `[statsd.output]`. */
  carillon: Record<string, unknown>;
  shape: TrafficShape;
  /** Intervals without traffic after the last one with traffic. */
  idleIntervals: number;
}

const small = (seed: number, activity = 0.75): TrafficShape => ({
  counters: 300,
  timers: 300,
  gauges: 200,
  sets: 150,
  histograms: 60,
  dogTagged: 80,
  graphiteTagged: 40,
  intervals: 3,
  activity,
  seed,
});

const OPTION_SETS: OptionSet[] = [
  {
    name: 'defaults, 11,100 keys, 7 flushes',
    reference: {},
    carillon: {},
    shape: {
      counters: 3000,
      timers: 2200,
      gauges: 2000,
      sets: 1500,
      histograms: 600,
      dogTagged: 800,
      graphiteTagged: 400,
      intervals: 6,
      activity: 0.75,
      seed: 1,
    },
    idleIntervals: 1,
  },
  {
    name: 'legacyNamespace false, custom prefixes, globalSuffix, flush_counts false',
    reference: {
      flush_counts: false,
      graphite: {
        legacyNamespace: false,
        globalPrefix: 'app',
        prefixCounter: 'cnt',
        prefixTimer: 'tm',
        prefixGauge: 'gg',
        prefixSet: 'st',
        globalSuffix: 'node1',
      },
    },
    carillon: {
      flush_counts: false,
      legacyNamespace: false,
      globalPrefix: 'app',
      prefixCounter: 'cnt',
      prefixTimer: 'tm',
      prefixGauge: 'gg',
      prefixSet: 'st',
      globalSuffix: 'node1',
    },
    shape: small(2),
    idleIntervals: 1,
  },
  {
    name: 'percentThreshold [90, -10, 99.5, -90]',
    reference: { percentThreshold: [90, -10, 99.5, -90] },
    carillon: { percentThreshold: [90, -10, 99.5, -90] },
    shape: small(3),
    idleIntervals: 0,
  },
  {
    name: 'histogram bins',
    reference: {
      histogram: [
        { metric: 'cmp.ms.', bins: [5, 10.5, 50, 100, 'inf'] },
        { metric: 'cmp.dogms', bins: [1, 100, 250] },
        { metric: 'gtms', bins: ['inf'] },
      ],
    },
    carillon: {
      histogram: [
        { metric: 'cmp.ms.', bins: [5, 10.5, 50, 100, 'inf'] },
        { metric: 'cmp.dogms', bins: [1, 100, 250] },
        { metric: 'gtms', bins: ['inf'] },
      ],
    },
    shape: small(4),
    idleIntervals: 0,
  },
  {
    name: 'deleteIdleStats true, gaugesMaxTTL 2',
    reference: { deleteIdleStats: true, gaugesMaxTTL: 2 },
    carillon: { deleteIdleStats: true, gaugesMaxTTL: 2 },
    shape: small(5, 0.4),
    idleIntervals: 2,
  },
  {
    name: 'compatibility options: h/d as counters, stamped at flush time',
    reference: {},
    carillon: { compatHAndDAsCounters: true, compatStampAtFlushTime: true },
    shape: small(6),
    idleIntervals: 1,
  },
];

/** Sends every datagram to both ports, spread evenly over SEND_MS from `startMs`. */
async function sendPaced(socket: Socket, datagrams: Buffer[], ports: number[], startMs: number): Promise<void> {
  await sleep(startMs - Date.now());
  let sent = 0;
  while (sent < datagrams.length) {
    const due = Math.min(datagrams.length, Math.ceil((datagrams.length * (Date.now() - startMs + 1)) / SEND_MS));
    for (; sent < due; sent++) for (const port of ports) socket.send(datagrams[sent]!, port, '127.0.0.1');
    await sleep(1);
  }
  if (Date.now() - startMs > SEND_DEADLINE_MS - SEND_OFFSET_MS)
    throw new Error(`sending took until ${Date.now() - startMs + SEND_OFFSET_MS} ms into the interval`);
}

describe('StatsD output is the reference daemon’s', () => {
  for (const set of OPTION_SETS)
    it(set.name, { timeout: 90_000 }, async () => {
      const traffic = generateTraffic(set.shape);
      const dir = mkdtempSync(join(tmpdir(), 'carillon-statsd-'));
      const [httpPort, carillonUdp, referenceUdp, mgmtPort] = [
        await freePort(),
        await freePort(),
        await freePort(),
        await freePort(),
      ];
      const carillon = await startCarillon(dir, set.carillon, STEP, httpPort, carillonUdp);
      const socket = createSocket('udp4');
      let reference: Awaited<ReturnType<typeof startReferenceDaemon>> | undefined;
      try {
        reference = await startReferenceDaemon(dir, set.reference, STEP, referenceUdp, mgmtPort);
        const first = reference.firstFlush;
        let linesSent = 0;
        for (const [k, lines] of traffic.intervals.entries()) {
          await sendPaced(
            socket,
            packDatagrams(lines),
            [carillonUdp, referenceUdp],
            (first + k * STEP) * 1000 + SEND_OFFSET_MS,
          );
          linesSent += lines.length;
        }

        const flushes = traffic.intervals.length + set.idleIntervals;
        const last = first + flushes * STEP;
        await reference.capture.waitForFlush(last, (flushes + 2) * STEP * 1000);
        // carillon flushes the last interval at its end plus the 1 s grace.
        await sleep((last + 1) * 1000 + 500 - Date.now());

        // Nothing lost on the way: both received every line.
        const received = traffic.intervals.map((_, k) =>
          reference!.capture.byTime.get(first + (k + 1) * STEP)?.get('stats_counts.statsd.metrics_received'),
        );
        if (set.reference.flush_counts !== false)
          expect(received, 'lines the reference daemon received per interval').toEqual(
            traffic.intervals.map((lines) => lines.length),
          );
        expect(await statsdLinesAccepted(httpPort), 'lines carillon accepted').toBe(linesSent);

        const compat = set.carillon.compatStampAtFlushTime === true;
        const times = Array.from({ length: flushes }, (_, k) => first + (k + 1) * STEP);
        const carillonWindows = await readWindows(httpPort, first, last + STEP);
        const result = compareFlushes(reference.capture.byTime, carillonWindows, times, {
          histogramTwins: set.carillon.compatHAndDAsCounters === true ? undefined : traffic.histogramTwins,
          windowOf: (time) => (compat ? time : time - STEP),
        });

        console.info(
          `${set.name}: ${traffic.keyCount} keys, ${linesSent} lines, ${flushes} flushes, ` +
            `${result.equal} series values equal, ${result.selfMetrics} reference self-metrics left out, ` +
            `explained: ${JSON.stringify(Object.fromEntries(result.explained))}, unexplained: ${result.unexplained.length}`,
        );
        expect(result.unexplained.slice(0, 20)).toEqual([]);
        expect(result.unexplained.length).toBe(0);
        // Every flush compared has output (a broken read-back would compare nothing).
        for (const time of times) expect(reference.capture.byTime.get(time)?.size ?? 0).toBeGreaterThan(0);
        expect(result.equal).toBeGreaterThan(traffic.keyCount * flushes * 0.5);
        if (set === OPTION_SETS[0]) {
          expect(traffic.keyCount).toBeGreaterThanOrEqual(10_000);
          expect(flushes).toBeGreaterThanOrEqual(5);
        }
      } finally {
        socket.close();
        await reference?.stop();
        await carillon.program.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    });
});
