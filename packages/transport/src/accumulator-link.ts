/**
 * The relay's connection to one accumulator: batches lines per format, keeps every batch until the
 * accumulator acks it durable, and streams them over one long-lived gRPC stream that is re-opened with
 * capped exponential backoff. After a reconnect everything still retained is replayed in order; the server
 * drops what it had already processed.
 */
import * as grpc from '@grpc/grpc-js';
import type { CounterChild, GaugeChild, Logger, MetricsRegistry } from '@carillon/core';
import { BatchBuilder } from './batch-builder.js';
import { RetentionQueue } from './retention-queue.js';
import { callMetadata } from './cluster-security.js';
import type { RelayIdentity } from './relay-identity.js';
import {
  ingestService,
  toWireFormat,
  type LineFormat,
  type WireAck,
  type WireLineBatch,
  type WireStatusReply,
} from './ingest-proto.js';

export interface LinkDestination {
  /** Member id, used in metric labels and logs. */
  id: string;
  /** host:port of the accumulator's Ingest server. */
  address: string;
}

export interface AccumulatorLinkOptions {
  /** A batch is sent once it would grow past this many bytes. */
  maxBatchBytes: number;
  /** ...or once its first line has waited this long. */
  maxBatchDelayMs: number;
  /** Bound on retained bytes (sent but not durable, plus waiting to be sent); past it the oldest batches go. */
  maxUnackedBytes: number;
  /** Deadline for the channel to become ready before a connection attempt counts as failed. */
  connectTimeoutMs: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
  keepaliveTimeMs: number;
  keepaliveTimeoutMs: number;
  /** Bound on close() waiting for durable acks. */
  closeTimeoutMs: number;
  /** Arrival-time granularity: a batch never mixes lines from two quanta (keep it a divisor of every window step). */
  batchTimeQuantumMs: number;
  /** The cluster token and TLS of the ingest port; no token and plain text when absent. */
  security?: LinkSecurity;
}

export interface LinkSecurity {
  token: string;
  credentials: grpc.ChannelCredentials;
  /** The name expected in the accumulator's certificate when it is not the address's host. */
  serverName?: string;
}

export const DEFAULT_LINK_OPTIONS: AccumulatorLinkOptions = {
  maxBatchBytes: 256 * 1024,
  maxBatchDelayMs: 50,
  maxUnackedBytes: 256 * 1024 * 1024,
  connectTimeoutMs: 5000,
  backoffInitialMs: 100,
  backoffMaxMs: 10_000,
  keepaliveTimeMs: 10_000,
  keepaliveTimeoutMs: 5000,
  closeTimeoutMs: 10_000,
  batchTimeQuantumMs: 1000,
};

/**
 * A place in the relay's spool: `record` names the spooled slice (its segment × 2^32 + its offset there), `offset`
 * is a byte offset in the slice's lines.
 */
export interface SpoolPosition {
  record: number;
  offset: number;
}

/** What a link tells the relay's spool (when there is one): batch boundaries, and durable acks. */
export interface LinkSpoolHooks {
  /**
   * A batch closed, before it is queued or sent: its lines of `format` end at `end` of the spool (undefined when
   * none of its lines is spooled); they began in the spool segment `startSegment`.
   */
  batchClosed(
    link: AccumulatorLink,
    format: LineFormat,
    sequence: number,
    end: SpoolPosition | undefined,
    startSegment: number | undefined,
  ): void;
  /** The destination acked batches up to `durable` durable. */
  durable(link: AccumulatorLink, durable: number): void;
}

/** Segment index of a spool record number. */
export const spoolSegmentOf = (record: number): number => Math.floor(record / 2 ** 32);

/** Why the relay dropped lines on a link. */
export type LinkDropReason = 'retention_full' | 'line_too_large' | 'link_closed' | 'undelivered_at_shutdown';

export interface LinkDepth {
  destination: string;
  address: string;
  connected: boolean;
  /** Retained batches: in flight (sent, not durable) plus waiting to be sent. */
  queuedBatches: number;
  queuedBytes: number;
  unsentBatches: number;
  unackedBatches: number;
  openBatchBytes: number;
  lastSequence: number;
  processedSequence: number;
  durableSequence: number;
}

interface LinkMetrics {
  linesAppended: CounterChild;
  batchesSent: CounterChild;
  linesSent: CounterChild;
  batchesReplayed: CounterChild;
  reconnects: CounterChild;
  statusFailures: CounterChild;
  connectFailures: CounterChild;
  wrongMember: CounterChild;
  backpressureWaits: CounterChild;
  droppedLines: Record<LinkDropReason, CounterChild>;
  droppedBatches: Record<LinkDropReason, CounterChild>;
  /** Points the accumulator refused, by the reason its acks give. */
  refusedPoints: (reason: string) => CounterChild;
  connected: GaugeChild;
  queuedBatches: GaugeChild;
  queuedBytes: GaugeChild;
  unackedBatches: GaugeChild;
}

const DROP_REASONS: readonly LinkDropReason[] = [
  'retention_full',
  'line_too_large',
  'link_closed',
  'undelivered_at_shutdown',
];

function linkMetrics(metrics: MetricsRegistry, destination: string): LinkMetrics {
  const droppedLines = metrics.counter(
    'relay_dropped_lines_total',
    'Lines the relay dropped, by reason and destination',
    ['reason', 'destination'],
  );
  const droppedBatches = metrics.counter(
    'relay_dropped_batches_total',
    'Batches the relay dropped, by reason and destination',
    ['reason', 'destination'],
  );
  const byReason = (family: typeof droppedLines): Record<LinkDropReason, CounterChild> =>
    Object.fromEntries(DROP_REASONS.map((reason) => [reason, family.labels(reason, destination)])) as Record<
      LinkDropReason,
      CounterChild
    >;
  const labels = ['destination'];
  const counter = (name: string, help: string): CounterChild => metrics.counter(name, help, labels).labels(destination);
  const gauge = (name: string, help: string): GaugeChild => metrics.gauge(name, help, labels).labels(destination);
  const refused = metrics.counter(
    'relay_points_refused_total',
    'Points the accumulator refused after the relay forwarded them, by the reason its acks give (parse reasons, late, future, misrouted)',
    ['reason', 'destination'],
  );
  return {
    refusedPoints: (reason) => refused.labels(reason, destination),
    linesAppended: counter('relay_link_lines_total', 'Lines accepted for a destination'),
    batchesSent: counter('relay_link_batches_sent_total', 'Batches written to a stream (replays included)'),
    linesSent: counter('relay_link_lines_sent_total', 'Lines written to a stream (replays included)'),
    batchesReplayed: counter('relay_link_batches_replayed_total', 'Batches sent again after a reconnect'),
    reconnects: counter('relay_link_reconnects_total', 'Streams lost and re-opened'),
    statusFailures: counter(
      'relay_link_status_failures_total',
      'Status calls before a stream that failed or timed out',
    ),
    connectFailures: counter(
      'relay_link_connect_failures_total',
      'Connection attempts that did not become ready in link.connect_timeout (unreachable, or TLS refused: an untrusted or missing certificate)',
    ),
    wrongMember: counter(
      'relay_link_wrong_member_total',
      'Connections refused because the address answered as another member (batches kept, retried)',
    ),
    backpressureWaits: counter(
      'relay_link_backpressure_waits_total',
      'Times a stream was full and sending paused until drain',
    ),
    droppedLines: byReason(droppedLines),
    droppedBatches: byReason(droppedBatches),
    connected: gauge('relay_link_connected', '1 while the stream to a destination is open'),
    queuedBatches: gauge('relay_link_queued_batches', 'Batches retained (unsent plus not yet durable)'),
    queuedBytes: gauge('relay_link_queued_bytes', 'Bytes retained (unsent plus not yet durable)'),
    unackedBatches: gauge('relay_link_unacked_batches', 'Batches sent and not yet acked durable'),
  };
}

type IngestClient = grpc.Client & {
  Stream(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<WireLineBatch, WireAck>;
  Status(
    request: Record<string, never>,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: (error: grpc.ServiceError | null, reply?: WireStatusReply) => void,
  ): grpc.ClientUnaryCall;
};

export class AccumulatorLink {
  private readonly builders: Record<LineFormat, BatchBuilder>;
  private readonly queue: RetentionQueue;
  private readonly metrics: LinkMetrics;
  private readonly client: IngestClient;
  private call: grpc.ClientDuplexStream<WireLineBatch, WireAck> | undefined;
  private connected = false;
  private waitingDrain = false;
  private delayTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private nextSequence: number;
  /** Per format: where in the spool the open batch's lines end and in which segment they began. */
  private readonly spoolEnd: Record<LineFormat, SpoolPosition | undefined> = { graphite: undefined, statsd: undefined };
  private readonly spoolStart: Record<LineFormat, number | undefined> = { graphite: undefined, statsd: undefined };
  private processed = 0;
  private durable = 0;
  private closing = false;
  private closed = false;
  private durableWaiters: (() => void)[] = [];

  constructor(
    readonly destination: LinkDestination,
    private readonly relay: RelayIdentity,
    private readonly options: AccumulatorLinkOptions,
    metrics: MetricsRegistry,
    private readonly logger?: Logger,
    /** The relay's spool, if it has one; then sequences begin at `firstSequence` (above any an earlier run used). */
    private readonly spool?: LinkSpoolHooks,
    firstSequence = 1,
    /**
     * Connect only once this settles: the closing link an earlier schedule had to the same member. Its batches
     * carry lower sequences, and the accumulator drops a batch at or below the highest it processed of this relay.
     */
    startAfter?: Promise<void>,
  ) {
    this.nextSequence = firstSequence;
    if (options.maxUnackedBytes < options.maxBatchBytes)
      throw new RangeError('maxUnackedBytes must be at least maxBatchBytes');
    this.builders = {
      graphite: new BatchBuilder('graphite', options.maxBatchBytes, options.batchTimeQuantumMs),
      statsd: new BatchBuilder('statsd', options.maxBatchBytes, options.batchTimeQuantumMs),
    };
    this.queue = new RetentionQueue(options.maxUnackedBytes);
    this.metrics = linkMetrics(metrics, destination.id);
    const Ingest = ingestService();
    const security = options.security;
    this.client = new Ingest(destination.address, security?.credentials ?? grpc.credentials.createInsecure(), {
      ...(security?.serverName ? { 'grpc.ssl_target_name_override': security.serverName } : {}),
      'grpc.keepalive_time_ms': options.keepaliveTimeMs,
      'grpc.keepalive_timeout_ms': options.keepaliveTimeoutMs,
      'grpc.keepalive_permit_without_calls': 1,
      // Our own backoff paces reconnects; keep the channel's from stacking on top of it.
      'grpc.initial_reconnect_backoff_ms': options.backoffInitialMs,
      'grpc.max_reconnect_backoff_ms': options.backoffMaxMs,
    }) as unknown as IngestClient;
    if (startAfter) void startAfter.then(() => this.connect());
    else this.connect();
  }

  get relayId(): string {
    return this.relay.id;
  }

  /** Copies one line (without its newline) into the open batch of its format. */
  append(format: LineFormat, line: Uint8Array, receivedAtMs: number, ringVersion: number): void {
    this.appendRange(format, line, 0, line.length, receivedAtMs, ringVersion);
  }

  /** As append(), for `source[start, end)`: the relay's listeners hand lines as ranges of a reused buffer. */
  appendRange(
    format: LineFormat,
    source: Uint8Array,
    start: number,
    end: number,
    receivedAtMs: number,
    ringVersion: number,
  ): void {
    if (this.closing) {
      this.metrics.droppedLines.link_closed.inc();
      return;
    }
    const length = end - start;
    if (length + 1 > this.options.maxBatchBytes) {
      this.metrics.droppedLines.line_too_large.inc();
      return;
    }
    const builder = this.builders[format];
    if (builder.needsClose(length, receivedAtMs, ringVersion)) this.closeBatch(builder);
    builder.add(source, start, end, receivedAtMs, ringVersion);
    this.metrics.linesAppended.inc();
    this.delayTimer ??= setTimeout(() => this.closeOpenBatches(), this.options.maxBatchDelayMs);
  }

  /**
   * Appends a spooled slice: newline-terminated `lines` of one format, receive time and ring version, that sit in
   * the spool at `record` (undefined when the spool could not take them) from byte `from` of its lines on.
   */
  appendSlice(
    format: LineFormat,
    lines: Buffer,
    receivedAtMs: number,
    ringVersion: number,
    record: number | undefined,
    from = 0,
  ): void {
    let start = from;
    while (start < lines.length) {
      let end = lines.indexOf(0x0a, start);
      if (end < 0) end = lines.length;
      if (end > start) {
        this.appendRange(format, lines, start, end, receivedAtMs, ringVersion);
        if (record !== undefined && !this.closing && end - start + 1 <= this.options.maxBatchBytes) {
          this.spoolEnd[format] = { record, offset: end + 1 };
          this.spoolStart[format] ??= spoolSegmentOf(record);
        }
      }
      start = end + 1;
    }
  }

  /**
   * Queues a batch rebuilt from the spool at start-up, with the sequence it was first sent with, so the
   * accumulator's dedupe drops it if it had processed it. Call in sequence order, before any new line.
   */
  retain(batch: WireLineBatch): void {
    if (batch.sequence >= this.nextSequence) this.nextSequence = batch.sequence + 1;
    for (const dropped of this.queue.push(batch)) this.countDropped('retention_full', dropped);
    this.updateGauges();
    this.pump();
  }

  /** The oldest spool segment whose lines sit in an open batch (Infinity: none). */
  get openSpoolSegment(): number {
    return Math.min(this.spoolStart.graphite ?? Infinity, this.spoolStart.statsd ?? Infinity);
  }

  /** Highest sequence acked durable. */
  get durableSequence(): number {
    return this.durable;
  }

  /** Highest sequence given to a batch so far. */
  get lastSequence(): number {
    return this.nextSequence - 1;
  }

  /** Sends whatever the open batches hold now. */
  flush(): void {
    this.closeOpenBatches();
  }

  depth(): LinkDepth {
    return {
      destination: this.destination.id,
      address: this.destination.address,
      connected: this.connected,
      queuedBatches: this.queue.batches,
      queuedBytes: this.queue.bytes,
      unsentBatches: this.queue.unsentBatches,
      unackedBatches: this.queue.inFlightBatches,
      openBatchBytes: this.builders.graphite.bytes + this.builders.statsd.bytes,
      lastSequence: this.nextSequence - 1,
      processedSequence: this.processed,
      durableSequence: this.durable,
    };
  }

  /**
   * Sends the open batches, waits (bounded by closeTimeoutMs) until everything is acked durable, then ends
   * the stream. What is still not durable then is counted as dropped.
   */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.closeOpenBatches();
    if (this.queue.batches > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.options.closeTimeoutMs);
        this.durableWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    const leftover = this.queue.drain();
    for (const batch of leftover) this.countDropped('undelivered_at_shutdown', batch);
    if (leftover.length > 0)
      this.logger?.warn(
        { destination: this.destination.id, batches: leftover.length },
        'link closed with batches not acked durable',
      );
    this.updateGauges();
    const call = this.call;
    this.call = undefined;
    this.setConnected(false);
    if (call) {
      // Everything is durable there: say so, and a leaving accumulator does not wait for this relay's return.
      if (leftover.length === 0)
        call.write({
          relayId: this.relayId,
          sequence: this.nextSequence - 1,
          format: 'FORMAT_UNSPECIFIED',
          ringVersion: 0,
          lines: Buffer.alloc(0),
          lineCount: 0,
          receivedAtMs: 0,
          last: true,
        } satisfies WireLineBatch);
      // Give the server a moment to answer our end; then cut the call so close() stays bounded.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          call.cancel();
          resolve();
        }, 1000);
        call.on('status', () => {
          clearTimeout(timer);
          resolve();
        });
        call.end();
      });
    }
    this.client.close();
  }

  private closeOpenBatches(): void {
    clearTimeout(this.delayTimer);
    this.delayTimer = undefined;
    if (!this.builders.graphite.isEmpty) this.closeBatch(this.builders.graphite);
    if (!this.builders.statsd.isEmpty) this.closeBatch(this.builders.statsd);
  }

  private closeBatch(builder: BatchBuilder): void {
    const closed = builder.take();
    const sequence = this.nextSequence++;
    if (this.spool) {
      // On disk before the batch can be sent: a restart rebuilds it with this sequence.
      this.spool.batchClosed(
        this,
        closed.format,
        sequence,
        this.spoolEnd[closed.format],
        this.spoolStart[closed.format],
      );
      this.spoolStart[closed.format] = undefined;
    }
    const batch: WireLineBatch = {
      relayId: this.relayId,
      sequence,
      format: toWireFormat(closed.format),
      ringVersion: closed.ringVersion,
      lines: closed.lines,
      lineCount: closed.lineCount,
      receivedAtMs: closed.receivedAtMs,
    };
    for (const dropped of this.queue.push(batch)) this.countDropped('retention_full', dropped);
    this.updateGauges();
    this.pump();
  }

  private countDropped(reason: LinkDropReason, batch: WireLineBatch): void {
    this.metrics.droppedBatches[reason].inc();
    this.metrics.droppedLines[reason].inc(batch.lineCount);
  }

  /** Writes retained batches until the stream pushes back; resumes on 'drain'. */
  private pump(): void {
    const call = this.call;
    if (!call || !this.connected || this.waitingDrain) return;
    for (let batch = this.queue.peekUnsent(); batch; batch = this.queue.peekUnsent()) {
      this.queue.markSent();
      this.metrics.batchesSent.inc();
      this.metrics.linesSent.inc(batch.lineCount);
      if (!call.write(batch)) {
        this.waitingDrain = true;
        this.metrics.backpressureWaits.inc();
        call.once('drain', () => {
          if (call !== this.call) return;
          this.waitingDrain = false;
          this.pump();
        });
        break;
      }
    }
    this.updateGauges();
  }

  private connect(): void {
    if (this.closed) return;
    this.client.waitForReady(Date.now() + this.options.connectTimeoutMs, (error) => {
      if (this.closed) return;
      if (error) {
        this.metrics.connectFailures.inc();
        this.logger?.debug({ destination: this.destination.id, err: error }, 'accumulator not reachable');
        this.scheduleReconnect();
        return;
      }
      this.openStreamIfRightMember();
    });
  }

  /**
   * Asks the accumulator who it is (a unary call with a deadline) before streaming to it: an address that now
   * answers as another member (a rescheduled pod's reused address, a wrong static list) must not get batches it
   * would drop as misrouted; they stay retained and the link retries with backoff.
   */
  private openStreamIfRightMember(): void {
    const deadline = Date.now() + this.options.connectTimeoutMs;
    const metadata = callMetadata(this.options.security?.token ?? '');
    this.client.Status({}, metadata, { deadline }, (error, reply) => {
      if (this.closed) return;
      if (error || !reply) {
        this.metrics.statusFailures.inc();
        // Refused credentials (a wrong token, a certificate the accumulator does not trust) are an operator's
        // problem, not a transient one: say so at warn, once per attempt.
        if (error?.code === grpc.status.UNAUTHENTICATED || error?.code === grpc.status.PERMISSION_DENIED)
          this.logger?.warn(
            { destination: this.destination.id, details: error.details },
            'accumulator refused our credentials',
          );
        else this.logger?.debug({ destination: this.destination.id, err: error }, 'accumulator status failed');
        this.scheduleReconnect();
        return;
      }
      if (reply.memberId !== this.destination.id) {
        this.metrics.wrongMember.inc();
        this.logger?.error(
          { destination: this.destination.id, address: this.destination.address, answeredAs: reply.memberId },
          'address answers as another member: keeping batches and retrying',
        );
        this.scheduleReconnect();
        return;
      }
      this.openStream();
    });
  }

  private openStream(): void {
    // The stream proves which relay it speaks for (the key behind the relay id), once, at its start.
    const call = this.client.Stream(callMetadata(this.options.security?.token ?? '', this.relay));
    this.call = call;
    this.waitingDrain = false;
    const replayed = this.queue.rewind();
    if (replayed > 0) this.metrics.batchesReplayed.inc(replayed);
    call.on('data', (ack: WireAck) => this.onAck(ack));
    // 'status' is the one event every ending of a call emits; 'error' only needs a listener.
    call.on('error', (error: Error) => {
      this.logger?.debug({ destination: this.destination.id, err: error }, 'ingest stream failed');
    });
    call.on('status', (status: grpc.StatusObject) => {
      if (call !== this.call) return;
      this.call = undefined;
      this.setConnected(false);
      if (this.closed) return;
      this.logger?.info(
        { destination: this.destination.id, code: status.code, details: status.details },
        'ingest stream ended; reconnecting',
      );
      this.metrics.reconnects.inc();
      this.scheduleReconnect();
    });
    this.setConnected(true);
    this.pump();
  }

  private onAck(ack: WireAck): void {
    // A reconnect can reach a restarted accumulator that knows less; never move backwards.
    if (ack.processed > this.processed) this.processed = ack.processed;
    for (const { reason, points } of ack.refused ?? []) this.metrics.refusedPoints(reason).inc(points);
    this.attempt = 0;
    if (ack.durable > this.durable) {
      this.durable = ack.durable;
      this.queue.release(ack.durable);
      this.updateGauges();
      this.spool?.durable(this, ack.durable);
    }
    if (this.closing && this.queue.batches === 0) {
      const waiters = this.durableWaiters;
      this.durableWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  private scheduleReconnect(): void {
    if (this.closed) return;
    const ceiling = Math.min(this.options.backoffMaxMs, this.options.backoffInitialMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 30);
    // Half fixed, half random: relays restarted together do not reconnect in lockstep.
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  private setConnected(connected: boolean): void {
    this.connected = connected;
    this.metrics.connected.set(connected ? 1 : 0);
  }

  private updateGauges(): void {
    this.metrics.queuedBatches.set(this.queue.batches);
    this.metrics.queuedBytes.set(this.queue.bytes);
    this.metrics.unackedBatches.set(this.queue.inFlightBatches);
  }
}
