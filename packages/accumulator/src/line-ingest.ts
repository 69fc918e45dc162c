/**
 * Lines to samples to the aggregator: every line is parsed, and either accepted or rejected with a counted
 * reason. Shared by every way lines arrive (TCP, UDP, HTTP POST /lines, relay batches over gRPC).
 */
import {
  reusableStatsdBytesSample,
  nowSeconds as wallClockSeconds,
  windowStart,
  type CounterChild,
  type GraphiteSample,
  type MetricsRegistry,
  type StatsdBytesSample,
  type StatsdSample,
} from '@carillon/core';
import type { Aggregator } from '@carillon/aggregator';
import {
  AsciiInterner,
  checkNameLength,
  checkNameTags,
  DEFAULT_NAME_LIMITS,
  LineCounters,
  type NameLimits,
  decodeLine,
  deliverLine,
  forEachLineUnbounded,
  CommonGraphiteLine,
  parseCommonGraphiteLine,
  parseCommonStatsdLine,
  readCommonStatsdLine,
  parseGraphiteBytes,
  parseStatsdLine,
  type LineHandler,
  type RejectReason,
} from '@carillon/protocols';
import type { OwnershipCheck } from './ownership.js';
import { GRAPHITE_ROW, readCommonRow } from './graphite-rows.js';

export type LineFormat = 'graphite' | 'statsd';

const NEWLINE = 0x0a;

/** What POST /lines ingests a body through: LineIngest, or LoggedIngest (logged first). */
export interface BodyIngest {
  ingestBody(format: LineFormat, body: Buffer, onLine: (problem: RejectReason | undefined) => void): void;
}

/** What one relay batch did. */
export interface BatchOutcome {
  /** Lines parsed (owned or not). */
  accepted: number;
  rejected: number;
  /** Points (Graphite lines, StatsD samples) whose key this member does not own for their window: dropped. */
  misrouted: number;
  /**
   * Points refused, by reason: a parse reason for a line, `misrouted`, or the aggregator's `late` / `future`. The
   * ingest server sends them back to the relay in its next ack.
   */
  refused: Map<string, number>;
  /**
   * End of the latest finest window the batch stored points in (epoch seconds); 0 when it stored none. The batch
   * is durable once every window up to here is flushed and written.
   */
  windowEnd: number;
}

export interface LineIngestOptions {
  /**
   * In a cluster: batches keep only points this member owns; the others are counted as misrouted and dropped.
   * Dropped, not aggregated: the owner aggregates the same (key, window) from the points routed to it, and two
   * accumulators writing partial StatPoints for one window would overwrite each other in a shared store.
   */
  ownership?: OwnershipCheck;
  /**
   * After resuming from a crash at this flush watermark (or the write-ahead log's replay floor): points a relay
   * sends for windows flushed before the crash (batches it had not yet seen acked durable) are counted apart.
   * Points replayed from the log are not: the aggregator counts those as replay refusals.
   */
  restartWatermark?: number;
  /**
   * Without a write-ahead log there is no dedupe across a restart: a relay batch received (by the relay) before
   * this process started may be a replay of points already stored, so its points stamped before the restart
   * watermark are refused (late_after_restart) instead of amending their windows twice. With a log, replays of
   * logged batches are dropped as duplicates and everything else is new, so late points amend.
   */
  refuseBeforeRestart?: boolean;
  /** The clock for Graphite lines without a timestamp (tests fix it). */
  nowSeconds?: () => number;
  /** Bounds on names (`names.*`); defaults DEFAULT_NAME_LIMITS. */
  names?: NameLimits;
  /** The store's own rule: false for a name it cannot keep (whisper: too long for a file). */
  storable?: (name: string) => boolean;
}

export class LineIngest {
  readonly graphiteCounters: LineCounters;
  readonly statsdCounters: LineCounters;
  /** Reused for each StatsD line (a packed line yields several samples). */
  private readonly statsdSamples: StatsdSample[] = [];
  /** Reused for each common StatsD line (parseCommonStatsdLine): the aggregator keeps none of it. */
  private readonly commonSample: StatsdSample = {
    name: '',
    type: 'c',
    value: 0,
    member: '',
    sampleRate: 1,
    gaugeDelta: false,
  };
  /** Reused for each common StatsD line from a listener, read from its bytes: its key is never made a string. */
  private readonly commonBytes: StatsdBytesSample = reusableStatsdBytesSample();
  /** Graphite paths as strings without decoding them per line (a fixed-size cache), the line and sample read into. */
  private readonly graphitePaths = new AsciiInterner(16, 256);
  private readonly commonLine = new CommonGraphiteLine();
  private readonly graphiteSample: GraphiteSample = { name: '', value: 0, timestamp: 0 };
  /** The id of the known series the last Graphite line read names (readGraphite), else -1. */
  private knownId = -1;
  /** StatsD keys and set members as strings, without decoding them per line (a fixed-size cache). */
  private readonly statsdKeys = new AsciiInterner(16, 256);
  private readonly statsdMembers = new AsciiInterner(14, 64);
  private readonly ownership: OwnershipCheck | undefined;
  private readonly misrouted: { graphite: CounterChild; statsd: CounterChild } | undefined;
  /** Points stamped before this were flushed by this member before a restart (LineIngestOptions.restartWatermark). */
  private readonly restartWatermark: number;
  private readonly lateAfterRestart: CounterChild | undefined;
  private readonly refuseBeforeRestart: boolean;
  /** When this ingest was made (the process start): relay batches received before it may be replays. */
  private readonly startedAt: number;
  private readonly nowSeconds: () => number;
  private readonly names: NameLimits;
  private readonly storable: ((name: string) => boolean) | undefined;

  constructor(
    private readonly aggregator: Aggregator,
    registry: MetricsRegistry,
    options: LineIngestOptions = {},
  ) {
    this.graphiteCounters = new LineCounters(registry, 'graphite');
    this.statsdCounters = new LineCounters(registry, 'statsd');
    this.nowSeconds = options.nowSeconds ?? wallClockSeconds;
    this.names = options.names ?? DEFAULT_NAME_LIMITS;
    this.storable = options.storable;
    this.ownership = options.ownership;
    if (options.ownership !== undefined) {
      const misrouted = registry.counter(
        'accumulator_misrouted_points_total',
        'Points whose key this accumulator does not own for their window (relay with a stale ring): dropped',
        ['protocol'],
      );
      this.misrouted = { graphite: misrouted.labels('graphite'), statsd: misrouted.labels('statsd') };
    }
    this.restartWatermark = options.restartWatermark ?? -Infinity;
    this.refuseBeforeRestart = options.refuseBeforeRestart ?? false;
    this.startedAt = this.nowSeconds();
    if (options.restartWatermark !== undefined)
      this.lateAfterRestart = registry
        .counter(
          'accumulator_late_after_restart_points_total',
          'Relay points for windows flushed before this process started (no write-ahead log to dedupe them): already written, dropped',
        )
        .labels();
  }

  /**
   * One relay batch: newline-separated lines received by the relay at `receivedAtSeconds`, which is the time of
   * Graphite lines without one and the arrival time of StatsD samples (a replay lands where the first delivery
   * did).
   */
  ingestBatch(format: LineFormat, lines: Buffer, receivedAtSeconds: number, rows?: Float64Array): BatchOutcome {
    const outcome: BatchOutcome = { accepted: 0, rejected: 0, misrouted: 0, windowEnd: 0, refused: new Map() };
    const step = this.aggregator.resolutions[0]!.step;
    const owned: StatsdSample[] = [];
    const now = this.aggregator.now; // once for the batch, as for the lines of one turn
    if (format === 'graphite' && rows !== undefined) {
      // Read ahead on a listener thread (graphite-rows.ts): the same points as reading the lines here.
      for (let row = 0; row < rows.length; row += GRAPHITE_ROW) {
        const parsed = this.readGraphiteRow(lines, rows, row, receivedAtSeconds);
        this.batchGraphiteLine(lines, parsed, receivedAtSeconds, now, outcome);
      }
      return outcome;
    }
    const onLine: LineHandler =
      format === 'graphite'
        ? (buf, start, end) =>
            this.batchGraphiteLine(
              buf,
              this.readGraphite(buf, start, end, receivedAtSeconds),
              receivedAtSeconds,
              now,
              outcome,
            )
        : (buf, start, end) => this.batchStatsdLine(buf, start, end, receivedAtSeconds, outcome, owned);
    // A batch is bounded as a whole; its lines passed the relay's listeners, which refused over-long ones.
    forEachLineUnbounded(lines, onLine);
    if (owned.length > 0) {
      if (this.aggregator.addStatsdBatch(owned, receivedAtSeconds)) {
        // Output stamped at the interval's end (compatibility option) lands in the next window.
        const windows = this.aggregator.statsdOptions.compatStampAtFlushTime ? 2 : 1;
        outcome.windowEnd = Math.max(outcome.windowEnd, windowStart(receivedAtSeconds, step) + windows * step);
      } else {
        refuse(outcome, this.aggregator.refusalOf(receivedAtSeconds), owned.length);
        if (receivedAtSeconds < this.restartWatermark && !this.aggregator.inReplay)
          this.lateAfterRestart!.value += owned.length;
      }
    }
    return outcome;
  }

  /** A Graphite line of a batch, as readGraphite or readGraphiteRow read it from `buf`. */
  private batchGraphiteLine(
    buf: Buffer,
    parsed: GraphiteSample | RejectReason,
    receivedAtSeconds: number,
    nowSeconds: number,
    outcome: BatchOutcome,
  ): void {
    const known = this.knownId;
    const sample = typeof parsed === 'string' || known >= 0 ? parsed : (this.admit(parsed.name) ?? parsed);
    if (typeof sample === 'string') {
      this.graphiteCounters.reject(sample);
      outcome.rejected++;
      refuse(outcome, sample, 1);
      return;
    }
    this.graphiteCounters.accept();
    outcome.accepted++;
    if (this.ownership !== undefined && !this.ownsGraphite(this.ownership, buf, sample, known)) {
      this.misrouted!.graphite.value++;
      outcome.misrouted++;
      refuse(outcome, 'misrouted', 1);
    } else if (
      this.refuseBeforeRestart &&
      sample.timestamp < this.restartWatermark &&
      receivedAtSeconds < this.startedAt &&
      !this.aggregator.inReplay
    ) {
      this.lateAfterRestart!.value++;
      refuse(outcome, 'late_after_restart', 1);
    } else if (this.aggregator.addGraphite(sample, nowSeconds, known)) {
      outcome.windowEnd = Math.max(outcome.windowEnd, this.aggregator.storedWith(sample.timestamp));
    } else {
      refuse(outcome, this.aggregator.refusalOf(sample.timestamp, 'graphite'), 1);
    }
  }

  /** Parses one StatsD line of a batch; its owned samples join `owned`, aggregated together at the end. */
  private batchStatsdLine(
    buf: Buffer,
    start: number,
    end: number,
    receivedAtSeconds: number,
    outcome: BatchOutcome,
    owned: StatsdSample[],
  ): void {
    // Without a ring every line is owned, so a common line needs no text at all (with one, routing reads it).
    if (this.ownership === undefined && this.parseCommon(buf, start, end)) {
      this.statsdCounters.accept();
      outcome.accepted++;
      owned.push({ ...this.commonSample });
      return;
    }
    const line = decodeLine(buf, start, end);
    const samples = this.statsdSamples;
    samples.length = 0;
    const problem = parseStatsdLine(line, samples) ?? this.admitStatsd(samples[0]!.name);
    if (problem !== undefined) {
      this.statsdCounters.reject(problem);
      outcome.rejected++;
      refuse(outcome, problem, 1);
      return;
    }
    this.statsdCounters.accept();
    outcome.accepted++;
    // Every sample of a line has the line's key, so the line is owned or not as a whole.
    if (this.ownership !== undefined && !this.ownership.ownsStatsd(line, samples[0]!.name, receivedAtSeconds)) {
      this.misrouted!.statsd.value += samples.length;
      outcome.misrouted += samples.length;
      refuse(outcome, 'misrouted', samples.length);
    } else for (const sample of samples) owned.push(sample);
  }

  /**
   * Why a parsed name is refused, if it is: too long (checked first: it costs nothing and must come before any
   * lookup keyed by the name), then, for a series not yet held, its tags, the store's rule and the memory budget.
   */
  private admit(name: string): RejectReason | undefined {
    const tooLong = checkNameLength(name, this.names);
    if (tooLong !== undefined) return tooLong;
    if (this.aggregator.knows(name)) return undefined;
    const tags = checkNameTags(name, this.names);
    if (tags !== undefined) return tags;
    if (this.storable !== undefined && !this.storable(name)) return 'unstorable_name';
    return this.aggregator.admits(name) ? undefined : 'index_full';
  }

  /**
   * A Graphite line's sample (graphiteSample, read again by the next line: nothing keeps it) or why it is refused.
   * A common line is read from its bytes, and when it names a series the aggregator knows, found by them: then
   * `knownId` is its id and the sample has no name (''), for a known name passed admission when first seen (and
   * the ownership check hashes the path's bytes: ownsGraphite).
   */
  private readGraphite(
    buf: Buffer,
    start: number,
    end: number,
    receivedAtSeconds: number,
  ): GraphiteSample | RejectReason {
    this.knownId = -1;
    if (!parseCommonGraphiteLine(buf, start, end, receivedAtSeconds, this.commonLine))
      return parseGraphiteBytes(buf, start, end, receivedAtSeconds);
    return this.commonGraphiteSample(buf);
  }

  /** readGraphite for the line of a row read ahead (graphite-rows.ts). */
  private readGraphiteRow(
    buf: Buffer,
    rows: Float64Array,
    row: number,
    receivedAtSeconds: number,
  ): GraphiteSample | RejectReason {
    this.knownId = -1;
    if (!readCommonRow(rows, row, receivedAtSeconds, this.commonLine))
      return parseGraphiteBytes(buf, rows[row]!, rows[row + 1]!, receivedAtSeconds);
    return this.commonGraphiteSample(buf);
  }

  /** The sample of the common line just read into commonLine, found by its bytes when its series is known. */
  private commonGraphiteSample(buf: Buffer): GraphiteSample {
    const line = this.commonLine;
    const sample = this.graphiteSample;
    sample.value = line.value;
    sample.timestamp = line.timestamp;
    if (line.keyEnd - line.keyStart <= this.names.maxLength) {
      this.knownId = this.aggregator.knownSeries(buf, line.keyStart, line.keyEnd, line.keyHash);
      if (this.knownId >= 0) {
        sample.name = '';
        return sample;
      }
    }
    sample.name = this.graphitePaths.intern(buf, line.keyStart, line.keyEnd, line.keyHash);
    return sample;
  }

  /** Whether this member owns a Graphite point just read: by its name, or for a known series by its path's bytes. */
  private ownsGraphite(ownership: OwnershipCheck, buf: Buffer, sample: GraphiteSample, known: number): boolean {
    if (known < 0) return ownership.owns(sample.name, sample.timestamp);
    return ownership.ownsBytes(buf, this.commonLine.keyStart, this.commonLine.keyEnd, sample.timestamp);
  }

  /**
   * Reads a common StatsD line into commonSample; false for any other line. Its key is plain ASCII without tags,
   * so within names.max_length it passes admitStatsd, which it therefore skips.
   */
  private parseCommon(buf: Buffer, start: number, end: number): boolean {
    return parseCommonStatsdLine(
      buf,
      start,
      end,
      this.names.maxLength,
      this.statsdKeys,
      this.statsdMembers,
      this.commonSample,
    );
  }

  /**
   * A StatsD key: its length and tags. The series are the flush's output names (`stats.counters.<key>.count`), which
   * the aggregator's budget bounds when they are made; checking the store's rule on every line's key would cost a
   * path per sample.
   */
  private admitStatsd(name: string): RejectReason | undefined {
    return checkNameLength(name, this.names) ?? checkNameTags(name, this.names);
  }

  countersFor(format: LineFormat): LineCounters {
    return format === 'graphite' ? this.graphiteCounters : this.statsdCounters;
  }

  /**
   * A Graphite line as a byte range (listener callback shape); returns why it was refused, if it was. The lines of
   * one event-loop turn (a read) arrive together: the clocks are read once for them.
   */
  readonly graphiteLine = (buf: Buffer, start: number, end: number): RejectReason | undefined => {
    const turn = this.turnClocks();
    return this.graphiteLineAt(buf, start, end, turn.stamp, turn.now);
  };

  /** A Graphite line received at `receivedAtSeconds` (its time when it has none); `nowSeconds`: the clock, if read. */
  private graphiteLineAt(
    buf: Buffer,
    start: number,
    end: number,
    receivedAtSeconds: number,
    nowSeconds?: number,
  ): RejectReason | undefined {
    const parsed = this.readGraphite(buf, start, end, receivedAtSeconds);
    const known = this.knownId;
    const sample = typeof parsed === 'string' || known >= 0 ? parsed : (this.admit(parsed.name) ?? parsed);
    if (typeof sample === 'string') {
      this.graphiteCounters.reject(sample);
      return sample;
    }
    this.graphiteCounters.accept();
    this.aggregator.addGraphite(sample, nowSeconds, known);
    return undefined;
  }

  /**
   * A StatsD line as a byte range (listener callback shape); returns why it was refused, if it was. The lines of
   * one event-loop turn (a datagram, a read) arrive together: the clock is read once for them.
   */
  readonly statsdLine = (buf: Buffer, start: number, end: number): RejectReason | undefined => {
    const { now } = this.turnClocks();
    return this.statsdLineAt(buf, start, end, now, now);
  };

  /**
   * A StatsD datagram from a listener (listeners.ts DatagramHandler), lines cut by splitDatagram's rules: a
   * common line is read as it is found, without a pass over its bytes to find its end first, and the rest are
   * cut out and go through statsdLine. The clock is read once for the datagram.
   */
  readonly statsdDatagram = (datagram: Buffer, maxLineLength: number): void => {
    const { now } = this.turnClocks();
    const common = this.commonBytes;
    const maxKeyLength = this.names.maxLength;
    const end = datagram.length;
    let position = 0;
    while (position < end) {
      const lineEnd = readCommonStatsdLine(datagram, position, end, maxKeyLength, common);
      if (lineEnd >= 0 && lineEnd - position <= maxLineLength) {
        this.statsdCounters.accept();
        this.aggregator.addStatsdBytes(common, now, now);
        position = lineEnd + 1;
        continue;
      }
      let newline = position;
      while (newline < end && datagram[newline] !== NEWLINE) newline++;
      deliverLine(datagram, position, newline, maxLineLength, this.statsdLine, this.refuseStatsdLine);
      position = newline + 1;
    }
  };

  /** A StatsD line refused before parsing (too long), counted as the listeners count theirs. */
  private readonly refuseStatsdLine = (reason: RejectReason): void => this.statsdCounters.reject(reason);

  /**
   * The clocks as read for this turn's listener lines: the aggregator's (`now`) and the stamp of a Graphite line
   * without a time (`stamp`, this ingest's own clock); read again in the next turn.
   */
  private readonly turn = { now: 0, stamp: 0 };
  /** Whether `turn` holds this turn's readings (one object for all turns: nothing allocated per datagram). */
  private turnRead = false;
  private turnClocks(): { now: number; stamp: number } {
    if (!this.turnRead) {
      this.turn.now = this.aggregator.now;
      this.turn.stamp = this.nowSeconds();
      this.turnRead = true;
      queueMicrotask(this.endTurn);
    }
    return this.turn;
  }
  private readonly endTurn = (): void => {
    this.turnRead = false;
  };

  /** A StatsD line that arrived at `receivedAtSeconds` (undefined: now); `nowSeconds`: the clock, if just read. */
  private statsdLineAt(
    buf: Buffer,
    start: number,
    end: number,
    receivedAtSeconds: number | undefined,
    nowSeconds?: number,
  ): RejectReason | undefined {
    // Its key plain ASCII without tags, a common line within names.max_length passes admitStatsd: skipped.
    const common = this.commonBytes;
    if (readCommonStatsdLine(buf, start, end, this.names.maxLength, common) === end) {
      this.statsdCounters.accept();
      this.aggregator.addStatsdBytes(common, receivedAtSeconds, nowSeconds);
      return undefined;
    }
    const samples = this.statsdSamples;
    samples.length = 0;
    const problem = parseStatsdLine(decodeLine(buf, start, end), samples) ?? this.admitStatsd(samples[0]!.name);
    if (problem !== undefined) {
      this.statsdCounters.reject(problem);
      return problem;
    }
    this.statsdCounters.accept();
    this.aggregator.addStatsdBatch(samples, receivedAtSeconds);
    return undefined;
  }

  /**
   * A request body (POST /lines), line by line, received at `receivedAtSeconds` (default now); `onLine` hears
   * each line's reject reason (undefined: accepted). The body is bounded as a whole, not per line.
   */
  ingestBody(
    format: LineFormat,
    body: Buffer,
    onLine: (problem: RejectReason | undefined) => void,
    receivedAtSeconds?: number,
  ): void {
    forEachLineUnbounded(body, (buf, start, end) => onLine(this.line(format, buf, start, end, receivedAtSeconds)));
  }

  /** One line of either format (HTTP), received at `receivedAtSeconds` (default now). */
  line(
    format: LineFormat,
    buf: Buffer,
    start: number,
    end: number,
    receivedAtSeconds?: number,
  ): RejectReason | undefined {
    return format === 'graphite'
      ? this.graphiteLineAt(buf, start, end, receivedAtSeconds ?? this.nowSeconds())
      : this.statsdLineAt(buf, start, end, receivedAtSeconds);
  }
}

function refuse(outcome: BatchOutcome, reason: string, points: number): void {
  outcome.refused.set(reason, (outcome.refused.get(reason) ?? 0) + points);
}
