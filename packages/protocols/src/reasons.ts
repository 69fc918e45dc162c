import type { CounterChild, MetricsRegistry } from '@carillon/core';

/**
 * Why an input line was refused. The set is fixed so that every reason has a counter from the start.
 *
 * - `line_too_long`: longer than the listener's maxLineLength; skipped up to the next newline.
 * - `malformed_line`: wrong shape: Graphite without a value or with more than three fields; StatsD without
 *   `:` or `|type`, or with an unknown trailing `|field`.
 * - `invalid_path`: the metric path is empty or breaks Graphite's rules (empty node, `/`, control chars).
 * - `invalid_tag`: a Graphite `;k=v` or DogStatsD `|#k:v` tag that is empty or breaks Graphite's tag rules.
 * - `invalid_value`: not a number, ±infinity (one infinity poisons a window's sum and every rollup of it),
 *   or a negative StatsD timer.
 * - `nan_value`: the value `nan` (Graphite drops these too, but here they are counted).
 * - `invalid_timestamp`: not a number, negative other than -1, or past 2^32-1 (catches milliseconds).
 * - `unknown_type`: a StatsD type other than c, g, ms, h, d, s.
 * - `invalid_sample_rate`: a StatsD `@rate` that is not a number in (0, 1] with a finite reciprocal.
 * - `invalid_pickle`: a pickle frame refused whole (pickle_frames_rejected_total has the detailed reason: an
 *   unsafe opcode, a malformed pickle, not a metric list, too many items, too large, cut short).
 * - `blocked`: a Graphite name matching carbon's blacklist (`carbon.blacklist`).
 * - `not_allowed`: a Graphite name matching none of the whitelist's patterns (`carbon.whitelist`).
 * - `name_too_long`, `too_many_tags`, `tag_too_long`: past `names.*` (name-limits.ts).
 * - `unstorable_name`: the store cannot keep the name (whisper: a node over 255 bytes, a path over 4 096 bytes,
 *   a tag value with `/`).
 * - `index_full`: a new series while the aggregator's or the index's memory budget is spent.
 * - `queue_full`: a UDP datagram's line while the node's listener threads hold their listeners (the lines they
 *   handed the main thread past `listeners.max_queued_bytes`): a datagram cannot wait (read-gate.ts).
 */
export const REJECT_REASONS = [
  'line_too_long',
  'malformed_line',
  'invalid_path',
  'invalid_tag',
  'invalid_value',
  'nan_value',
  'invalid_timestamp',
  'unknown_type',
  'invalid_sample_rate',
  'invalid_pickle',
  'blocked',
  'not_allowed',
  'name_too_long',
  'too_many_tags',
  'tag_too_long',
  'unstorable_name',
  'index_full',
  'queue_full',
] as const;

export type RejectReason = (typeof REJECT_REASONS)[number];

export function isRejectReason(value: unknown): value is RejectReason {
  return typeof value === 'string' && (REJECT_REASONS as readonly string[]).includes(value);
}

/**
 * Per-protocol line counters: `lines_received_total{protocol}`, `lines_accepted_total{protocol}` and
 * `lines_rejected_total{protocol,reason}` with every reason pre-created so /metrics shows zeros.
 * received = accepted + rejected: call exactly one of accept() or reject() per line.
 * Several instances for the same registry and protocol share the same children.
 */
export class LineCounters {
  readonly received: CounterChild;
  readonly accepted: CounterChild;
  private readonly rejectedByReason: Record<RejectReason, CounterChild>;

  constructor(
    readonly registry: MetricsRegistry,
    readonly protocol: string,
  ) {
    this.received = registry
      .counter('lines_received_total', 'Lines received, accepted or not', ['protocol'])
      .labels(protocol);
    this.accepted = registry
      .counter('lines_accepted_total', 'Lines parsed and passed on', ['protocol'])
      .labels(protocol);
    const rejected = registry.counter('lines_rejected_total', 'Lines refused, by reason', ['protocol', 'reason']);
    const byReason = {} as Record<RejectReason, CounterChild>;
    for (const reason of REJECT_REASONS) byReason[reason] = rejected.labels(protocol, reason);
    this.rejectedByReason = byReason;
  }

  accept(): void {
    this.received.value++;
    this.accepted.value++;
  }

  reject(reason: RejectReason): void {
    this.received.value++;
    this.rejectedByReason[reason].value++;
  }

  /** The counter child for one reason, for tests and health checks. */
  rejected(reason: RejectReason): CounterChild {
    return this.rejectedByReason[reason];
  }
}
