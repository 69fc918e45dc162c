import { Writable } from 'node:stream';
import { pino } from 'pino';
import { MetricsRegistry, parseResolutions, type Logger, type StatPoint, type StatsdSample } from '@carillon/core';
import {
  Aggregator,
  DEFAULT_STATSD_OPTIONS,
  type AggregatorDeps,
  type AggregatorOptions,
  type StatsdOptions,
} from '@carillon/aggregator';
import { RecordingSink } from '../../../test/support/recording.js';
import { VirtualTime } from './virtual-time.js';

/** A pino logger whose lines land in `lines` (parsed messages). */
export function capturingLogger(): { logger: Logger; messages: string[] } {
  const messages: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n'))
        if (line.trim() !== '') messages.push((JSON.parse(line) as { msg: string }).msg);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), messages };
}

export function point(time: number, values: number[]): StatPoint {
  return {
    time,
    min: Math.min(...values),
    max: Math.max(...values),
    sum: values.reduce((a, b) => a + b, 0),
    first: values[0]!,
    last: values[values.length - 1]!,
    count: values.length,
  };
}

export interface Rig {
  aggregator: Aggregator;
  sink: RecordingSink;
  time: VirtualTime;
  metrics: MetricsRegistry;
  messages: string[];
  /** Sets the clock to `seconds` and runs a tick there. */
  tickAt(seconds: number): void;
}

export function rig(
  options: Partial<AggregatorOptions> & { times?: string[] } = {},
  statsd: Partial<StatsdOptions> = {},
  startSeconds = 1200,
  deps: Pick<AggregatorDeps, 'ownsStatsdKey'> = {},
): Rig {
  const { times = ['10s:1h', '1m:1d', '5m:7d'], ...rest } = options;
  const time = new VirtualTime(startSeconds * 1000);
  const sink = new RecordingSink();
  const metrics = new MetricsRegistry();
  const { logger, messages } = capturingLogger();
  const aggregator = new Aggregator(
    {
      resolutions: parseResolutions(times),
      graceSeconds: 5,
      maxFutureSeconds: 60,
      maxPendingPoints: 1_000_000,
      maxStatsdIntervalValues: 1_000_000,
      ...rest,
    },
    { ...DEFAULT_STATSD_OPTIONS, ...statsd },
    { sink, metrics, logger, clock: time, scheduler: time, ...deps },
  );
  return {
    aggregator,
    sink,
    time,
    metrics,
    messages,
    tickAt(seconds) {
      time.set(seconds * 1000);
      aggregator.tick(seconds);
    },
  };
}

export function statsdSample(
  name: string,
  type: StatsdSample['type'],
  value: number,
  extra: Partial<StatsdSample> = {},
): StatsdSample {
  return { name, type, value, member: '', sampleRate: 1, gaugeDelta: false, ...extra };
}
