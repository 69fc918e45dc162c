/**
 * The accumulator side of the Ingest service: receives LineBatches on long-lived streams, drops duplicates
 * by (relay, sequence), hands each new batch to the handler once, and answers with acks. Every call must carry
 * the cluster token when one is configured; every stream proves at its start the relay id it speaks for (the key
 * behind the id, relay-identity.ts) and may carry batches of that id only, so nobody can advance another relay's
 * dedupe state. Refusals end the call with a status and are counted.
 */
import * as grpc from '@grpc/grpc-js';
import { bearerToken, hostPort, TokenGate, type Logger, type MetricsRegistry, type CounterChild } from '@carillon/core';
import { AUTHORIZATION_HEADER, RELAY_ID_HEADER, RELAY_KEY_HEADER } from './cluster-security.js';
import { verifyRelayKey } from './relay-identity.js';
import {
  fromWireFormat,
  ingestService,
  relayHost,
  type LineFormat,
  type WireAck,
  type WireLineBatch,
  type WireStatusReply,
} from './ingest-proto.js';
import { queryService, queryServiceHandlers, type QueryHandler } from './query-service.js';

export interface ReceivedBatch {
  relayId: string;
  sequence: number;
  format: LineFormat;
  ringVersion: number;
  lines: Buffer;
  lineCount: number;
  receivedAtMs: number;
}

export interface IngestHandler {
  /**
   * Parse and aggregate one batch. Called at most once per (relayId, sequence) per server process (and across
   * processes for the sequences in `processedSeed`): the server drops a batch whose sequence is <= the highest it
   * processed for that relay, and counts it as a duplicate. Returns the points it refused, by reason, which the
   * next ack carries back to the relay.
   */
  process(batch: ReceivedBatch): ReadonlyMap<string, number> | void;
  /** Highest sequence of `relayId` whose points are durable (flushed to the writers); 0 if none. */
  durableSequence(relayId: string): number;
  /** For the Status rpc. */
  status(): { memberId: string; ringVersion: number; series: number };
  /** The server subscribes once at start: `listener` runs whenever more batches became durable (acks to send). */
  onDurable?(listener: () => void): void;
}

export interface IngestServerOptions {
  host: string;
  port: number;
  maxMessageBytes: number;
  keepaliveTimeMs: number;
  keepaliveTimeoutMs: number;
  /** Bound on close(): past it open streams are cut. Default 5000. */
  closeTimeoutMs?: number;
  /**
   * Relays whose highest processed sequence is remembered for dedupe (one per relay process start). Past it the
   * relay heard from least recently is forgotten (counted); a replay from it would then be processed again.
   * Default 10000.
   */
  maxRelays?: number;
  /**
   * Highest sequence already processed per relay, from before this process (the accumulator's write-ahead log
   * replayed them): a relay's replay of those batches is dropped as a duplicate, not aggregated twice.
   */
  processedSeed?: ReadonlyMap<string, number>;
  /** The cluster token every call must carry (`authorization: Bearer`); '' or absent = none asked. */
  token?: string;
  /** TLS (and mTLS) of the port; insecure when absent. */
  credentials?: grpc.ServerCredentials;
  /** The Query service on the same port (a relay reading the cluster), when given. */
  query?: QueryHandler;
}

export interface IngestServer {
  readonly port: number;
  /**
   * Relays whose last stream here ended without their goodbye (`last`: a crash, a cut connection; not this
   * server closing) less than `withinMs` ago, with batches processed here and not durable yet, and that have not
   * opened one since: they may come back and replay from their spool what they hold for here.
   */
  relaysAway(withinMs: number): number;
  /** When a relay that was away last opened a stream again (ms since the epoch; 0 if none did). */
  readonly lastReturnAtMs: number;
  /** Send a fresh Ack {processed, durable} on every open stream (called after a flush was written). */
  notifyDurable(): void;
  /** Stop accepting, end streams after sending a last ack, resolve when closed (bounded by a timeout). */
  close(): Promise<void>;
}

type StreamCall = grpc.ServerDuplexStream<WireLineBatch, WireAck>;

interface RelayCounters {
  batches: CounterChild;
  lines: CounterChild;
  bytes: CounterChild;
  duplicates: CounterChild;
}

const DEFAULT_CLOSE_TIMEOUT_MS = 5000;
const DEFAULT_MAX_RELAYS = 10_000;

/** One open stream: which relay it carries and whether it owes that relay an ack. */
class IngestStream {
  relayId: string | undefined;
  /** Set when a batch was refused as forged: the stream is ending, and nothing more of it is processed. */
  forged = false;
  /** Set by the relay's goodbye (`last`): it holds nothing more for here. */
  saidLast = false;
  private ackScheduled = false;
  private waitingDrain = false;
  private ackOwed = false;
  private lastSent: WireAck = { processed: -1, durable: -1 };
  /** Refusals of the batches processed since the last ack sent: they go out with the next one. */
  private readonly refused = new Map<string, number>();

  constructor(
    readonly call: StreamCall,
    private readonly ackFor: (relayId: string) => WireAck,
  ) {}

  addRefusals(refused: ReadonlyMap<string, number>): void {
    for (const [reason, points] of refused)
      if (points > 0) this.refused.set(reason, (this.refused.get(reason) ?? 0) + points);
  }

  /** Coalesces the acks of every batch processed in this turn of the event loop into one. */
  scheduleAck(): void {
    if (this.ackScheduled) return;
    this.ackScheduled = true;
    setImmediate(() => {
      this.ackScheduled = false;
      this.sendAck(false);
    });
  }

  /** Writes the current ack; skips an unchanged one unless forced. An ack owed while the stream is full goes out on drain. */
  sendAck(force: boolean): void {
    if (this.relayId === undefined || this.call.writableEnded || this.call.destroyed) return;
    if (this.waitingDrain) {
      this.ackOwed = true;
      return;
    }
    const ack = this.ackFor(this.relayId);
    const unchanged = ack.processed === this.lastSent.processed && ack.durable === this.lastSent.durable;
    if (!force && unchanged && this.refused.size === 0) return;
    if (this.refused.size > 0) {
      ack.refused = [...this.refused].map(([reason, points]) => ({ reason, points }));
      this.refused.clear();
    }
    this.lastSent = ack;
    if (!this.call.write(ack)) {
      this.waitingDrain = true;
      this.call.once('drain', () => {
        this.waitingDrain = false;
        if (this.ackOwed) {
          this.ackOwed = false;
          this.sendAck(false);
        }
      });
    }
  }
}

export async function startIngestServer(
  options: IngestServerOptions,
  handler: IngestHandler,
  metrics: MetricsRegistry,
  logger?: Logger,
): Promise<IngestServer> {
  const batchesReceived = metrics.counter('ingest_batches_received_total', 'Line batches received, by relay host', [
    'relay',
  ]);
  const linesReceived = metrics.counter('ingest_lines_received_total', 'Lines received in batches, by relay host', [
    'relay',
  ]);
  const bytesReceived = metrics.counter('ingest_bytes_received_total', 'Line bytes received, by relay host', ['relay']);
  const duplicatesDropped = metrics.counter(
    'ingest_duplicate_batches_total',
    'Batches dropped because their sequence was already processed (replays), by relay host',
    ['relay'],
  );
  const invalidBatches = metrics.counter('ingest_invalid_batches_total', 'Batches dropped as malformed, by reason', [
    'reason',
  ]);
  const streamsRefused = metrics.counter(
    'ingest_streams_refused_total',
    "Streams refused before any batch: no relay key, or a key that is not the relay id's (a forged sender)",
    ['reason'],
  );
  const tokenGate = new TokenGate(options.token ?? '', metrics, 'ingest');
  const streamsOpen = metrics.gauge('ingest_streams_open', 'Open relay streams');
  const acksSent = metrics.counter('ingest_ack_notifications_total', 'Durable-ack rounds sent to all streams');

  const relaysForgotten = metrics.counter(
    'ingest_relays_forgotten_total',
    'Relays whose processed sequence was forgotten to stay within maxRelays (least recently heard first)',
  );

  const closeTimeoutMs = options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
  const maxRelays = options.maxRelays ?? DEFAULT_MAX_RELAYS;
  /** Highest processed sequence per relay, for dedupe; in order of last update, so the first is the stalest. */
  const highestProcessed = new Map<string, number>();
  const rememberProcessed = (relayId: string, sequence: number): void => {
    highestProcessed.delete(relayId);
    highestProcessed.set(relayId, sequence);
    if (highestProcessed.size > maxRelays) {
      const stalest = highestProcessed.keys().next().value!;
      highestProcessed.delete(stalest);
      relaysForgotten.inc();
    }
  };
  for (const [relayId, sequence] of options.processedSeed ?? []) rememberProcessed(relayId, sequence);
  const countersByHost = new Map<string, RelayCounters>();
  const streams = new Set<IngestStream>();
  let closing = false;
  /** Relay id → when its last stream ended without a goodbye, not all durable (none open since); oldest first. */
  const away = new Map<string, number>();
  let lastReturnAtMs = 0;
  const streamBroke = (relayId: string): void => {
    // A reconnect can open the next stream before the old one's breaking is seen.
    for (const open of streams) if (open.relayId === relayId) return;
    // A relay whose every batch here was durable was not sending for windows still open (one killed idle, or
    // long after its last line for here): nothing is waited for. One with batches not durable retains them and
    // what it read after them, and sends them again when it comes back.
    const { processed, durable } = ackFor(relayId);
    if (processed <= durable) return;
    logger?.info({ relayId, processed, durable }, 'relay stream ended without its goodbye, batches not durable');
    away.delete(relayId);
    away.set(relayId, Date.now());
    if (away.size > maxRelays) away.delete(away.keys().next().value!);
  };

  const countersFor = (relayId: string): RelayCounters => {
    const host = relayHost(relayId);
    let counters = countersByHost.get(host);
    if (!counters) {
      counters = {
        batches: batchesReceived.labels(host),
        lines: linesReceived.labels(host),
        bytes: bytesReceived.labels(host),
        duplicates: duplicatesDropped.labels(host),
      };
      countersByHost.set(host, counters);
    }
    return counters;
  };

  const ackFor = (relayId: string): WireAck => ({
    processed: highestProcessed.get(relayId) ?? 0,
    durable: handler.durableSequence(relayId),
  });

  const onBatch = (stream: IngestStream, batch: WireLineBatch): void => {
    if (closing || stream.forged) return;
    if (!batch.relayId) {
      invalidBatches.labels('missing_relay_id').inc();
      stream.call.emit('error', refusal(grpc.status.INVALID_ARGUMENT, 'LineBatch without relay_id'));
      return;
    }
    if (stream.relayId !== batch.relayId) {
      // The stream proved one relay's key at its start; a batch under another id is forged (and acks name no
      // relay, so one stream can only ever answer one).
      invalidBatches.labels('relay_id_mismatch').inc();
      stream.forged = true;
      stream.call.emit('error', refusal(grpc.status.PERMISSION_DENIED, 'relay_id is not the one this stream proved'));
      return;
    }
    if (batch.last === true) {
      stream.saidLast = true;
      return;
    }
    if (!Number.isSafeInteger(batch.sequence) || batch.sequence < 1) {
      // Beyond 2^53 a sequence is no longer exact as a Number; a relay counts from 1 and never gets near it.
      invalidBatches.labels('sequence_out_of_range').inc();
      stream.forged = true;
      stream.call.emit('error', refusal(grpc.status.INVALID_ARGUMENT, 'sequence out of range'));
      return;
    }
    const counters = countersFor(batch.relayId);
    counters.batches.inc();
    const highest = highestProcessed.get(batch.relayId) ?? 0;
    if (batch.sequence <= highest) {
      counters.duplicates.inc();
      stream.scheduleAck();
      return;
    }
    // The sequence is consumed even when the batch is malformed, so the relay stops retaining it.
    rememberProcessed(batch.relayId, batch.sequence);
    const format = fromWireFormat(batch.format);
    if (format === undefined) {
      invalidBatches.labels('unknown_format').inc();
    } else {
      counters.lines.inc(batch.lineCount);
      counters.bytes.inc(batch.lines.length);
      try {
        const refused = handler.process({
          relayId: batch.relayId,
          sequence: batch.sequence,
          format,
          ringVersion: batch.ringVersion,
          lines: batch.lines,
          lineCount: batch.lineCount,
          receivedAtMs: batch.receivedAtMs,
        });
        if (refused) stream.addRefusals(refused);
      } catch (error) {
        invalidBatches.labels('handler_error').inc();
        logger?.error({ err: error, relayId: batch.relayId, sequence: batch.sequence }, 'ingest handler failed');
      }
    }
    stream.scheduleAck();
  };

  const streamHandler = (call: StreamCall): void => {
    if (closing) {
      call.destroy(new Error('server closing'));
      return;
    }
    if (!admitted(call)) return;
    const relayId = firstString(call.metadata, RELAY_ID_HEADER);
    const key = call.metadata.get(RELAY_KEY_HEADER)[0];
    if (relayId === undefined || !Buffer.isBuffer(key)) {
      streamsRefused.labels('missing_relay_key').inc();
      call.emit('error', refusal(grpc.status.UNAUTHENTICATED, 'a stream must carry its relay id and key'));
      return;
    }
    if (!verifyRelayKey(relayId, key)) {
      streamsRefused.labels('wrong_relay_key').inc();
      logger?.warn({ relay: relayHost(relayId) }, 'ingest stream refused: the relay key does not match the relay id');
      call.emit('error', refusal(grpc.status.PERMISSION_DENIED, 'the relay key does not match the relay id'));
      return;
    }
    const stream = new IngestStream(call, ackFor);
    stream.relayId = relayId;
    streams.add(stream);
    streamsOpen.set(streams.size);
    if (away.delete(relayId)) lastReturnAtMs = Date.now();
    const forget = (): void => {
      if (streams.delete(stream)) streamsOpen.set(streams.size);
    };
    // Ended without the relay's goodbye, nor by this server closing: the relay may be restarting. (A kill and a
    // clean end of the call look the same here, 'end' then 'cancelled': only the goodbye tells them apart.)
    const broke = (): void => {
      forget();
      if (!closing && !stream.forged && !stream.saidLast) streamBroke(relayId);
    };
    call.on('data', (batch: WireLineBatch) => onBatch(stream, batch));
    call.on('end', () => {
      stream.sendAck(true);
      forget();
      if (!call.writableEnded) call.end();
    });
    call.on('error', (error: Error) => {
      broke();
      logger?.debug({ err: error, relayId: stream.relayId }, 'ingest stream error');
    });
    call.on('close', forget);
    call.on('cancelled', broke);
  };

  /** The cluster token check of every call; a refused call is ended here. */
  const admitted = (call: grpc.ServerDuplexStream<WireLineBatch, WireAck>): boolean => {
    const reason = tokenGate.check(bearerToken(firstString(call.metadata, AUTHORIZATION_HEADER)));
    if (reason === undefined) return true;
    call.emit(
      'error',
      refusal(grpc.status.UNAUTHENTICATED, reason === 'missing_token' ? 'token required' : 'wrong token'),
    );
    return false;
  };

  const statusHandler = (
    call: grpc.ServerUnaryCall<Record<string, never>, WireStatusReply>,
    callback: grpc.sendUnaryData<WireStatusReply>,
  ): void => {
    const reason = tokenGate.check(bearerToken(firstString(call.metadata, AUTHORIZATION_HEADER)));
    if (reason !== undefined) {
      callback(refusal(grpc.status.UNAUTHENTICATED, reason === 'missing_token' ? 'token required' : 'wrong token'));
      return;
    }
    const status = handler.status();
    callback(null, { memberId: status.memberId, ringVersion: status.ringVersion, series: status.series });
  };

  const server = new grpc.Server({
    'grpc.max_receive_message_length': options.maxMessageBytes,
    'grpc.keepalive_time_ms': options.keepaliveTimeMs,
    'grpc.keepalive_timeout_ms': options.keepaliveTimeoutMs,
    'grpc.keepalive_permit_without_calls': 1,
  });
  server.addService(ingestService().service, { Stream: streamHandler, Status: statusHandler });
  // Reads of the cluster need the same cluster token as writes: they hand out every series' data.
  const admitQuery = (metadata: grpc.Metadata): Partial<grpc.StatusObject> | undefined => {
    const reason = tokenGate.check(bearerToken(firstString(metadata, AUTHORIZATION_HEADER)));
    return reason === undefined
      ? undefined
      : refusal(grpc.status.UNAUTHENTICATED, reason === 'missing_token' ? 'token required' : 'wrong token');
  };
  if (options.query) server.addService(queryService().service, queryServiceHandlers(options.query, admitQuery));

  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(
      hostPort(options.host, options.port),
      options.credentials ?? grpc.ServerCredentials.createInsecure(),
      (error, bound) => (error ? reject(error) : resolve(bound)),
    );
  });
  logger?.info(
    { host: options.host, port, tls: options.credentials?._isSecure() ?? false, token: tokenGate.enabled },
    'ingest server listening',
  );

  let closed: Promise<void> | undefined;
  const notifyDurable = (): void => {
    acksSent.inc();
    for (const stream of streams) stream.sendAck(false);
  };
  handler.onDurable?.(notifyDurable);
  return {
    port,
    notifyDurable,
    relaysAway(withinMs: number): number {
      const since = Date.now() - withinMs;
      let count = 0;
      for (const brokeAt of away.values()) if (brokeAt > since) count++;
      return count;
    },
    get lastReturnAtMs() {
      return lastReturnAtMs;
    },
    close(): Promise<void> {
      closed ??= new Promise<void>((resolve) => {
        closing = true;
        for (const stream of streams) {
          stream.sendAck(true);
          if (!stream.call.writableEnded) stream.call.end();
        }
        const timer = setTimeout(() => {
          logger?.warn({ streams: streams.size }, 'ingest server close timed out; cutting streams');
          server.forceShutdown();
          resolve();
        }, closeTimeoutMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      return closed;
    },
  };
}

function firstString(metadata: grpc.Metadata, name: string): string | undefined {
  const value = metadata.get(name)[0];
  return typeof value === 'string' ? value : undefined;
}

/** An error grpc-js turns into the given status for the caller. */
function refusal(code: grpc.status, details: string): Partial<grpc.StatusObject> & Error {
  return Object.assign(new Error(details), { code, details });
}
