// The aggregator options the benches share (not itself a bench: the runner only picks up `*.bench.ts`): the
// default `times`, and pending and StatsD bounds roomy enough that no bench measures a refusal.
import { parseResolutions } from '@carillon/core';
import type { AggregatorOptions } from '@carillon/aggregator';

export function benchAggregatorOptions(): AggregatorOptions {
  return {
    resolutions: parseResolutions(['10s:168h', '1m:720h', '10m:21600h']),
    graceSeconds: 5,
    maxFutureSeconds: 60,
    maxPendingPoints: 50_000_000,
    maxStatsdIntervalValues: 50_000_000,
  };
}
