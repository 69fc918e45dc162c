/**
 * The embedded default store: one Graphite whisper file per series, laid out as carbon does, so graphite-web and
 * whisper's own tools read what we write and we read what they wrote.
 */
import type { Dirent } from 'node:fs';
import { access, opendir, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join, relative, resolve as resolvePath } from 'node:path';
import {
  AGGREGATION_METHODS,
  aggregationRuleFor,
  batchPoint,
  DEFAULT_AGGREGATION_RULES,
  MetricsRegistry,
  nowSeconds,
  retentionFor,
  splitCanonical,
  subsetBatch,
  valueOf,
  type AggregationMethod,
  type AggregationRule,
  type CounterChild,
  type FlushBatch,
  type HistogramChild,
  type Logger,
  type Resolution,
  type RetentionRule,
  type SeriesReader,
  type SeriesValues,
  type StatPoint,
  type WorkerReaderSpec,
  type WriteOutcome,
  type Writer,
} from '@carillon/core';
import { KeyedLock, Semaphore } from './concurrency.js';
import { poolFileSystem, syncFileSystem, type FileSystem, type WhisperFile } from './fd-file.js';
import {
  CorruptWhisperFileError,
  createWhisperFile,
  fileSizeOf,
  isCreationTemp,
  layoutHeader,
  readArchiveFloat64,
  readArchiveIntervals,
  readBaseInterval,
  readHeader,
  writeArchivePoints,
  type ArchiveInfo,
  type TimedValue,
  type WhisperHeader,
} from './format.js';
import { CreationLimit } from './create-limit.js';
import { rowsBySeries, WriteQueue, type QueuedBatch, type RoundRow } from './write-queue.js';
import { HandleCache } from './handle-cache.js';
import { STATS_SUFFIX, StatsSidecar, statsSlots } from './amend-stats.js';
import { propagateDown } from './propagate.js';
import { readSlots, whisperWorkerReader } from './reader.js';
import {
  canonicalFromRelativePath,
  hashNamedRelativePath,
  isHashNamedFile,
  isStorableWhisperName,
  whisperRelativePath,
} from './layout.js';

export interface WhisperStoreConfig {
  dataDir: string;
  /** One archive per resolution, finest first: secondsPerPoint = step, points = ttl / step. */
  resolutions: readonly Resolution[];
  /** Aggregation method and xFilesFactor per series path, first match wins (core's DEFAULT_AGGREGATION_RULES). */
  aggregationRules?: readonly AggregationRule[];
  /**
   * The archives a new file gets, by series path, first match wins (core's retentionRules, whose steps are all
   * steps of `resolutions`). Default: `resolutions` for every series. Existing files keep their archives.
   */
  retentionRules?: readonly RetentionRule[];
  /** Open file handles kept in the LRU (default 1024). */
  maxOpenFiles?: number;
  /** File operations in flight at once, across writes and reads (default 16). */
  concurrency?: number;
  /**
   * Amends (late points) are merged back to this age; for files of the `average` and `last` methods the numbers a
   * slot cannot hold are kept that long in the `.wsp.stats` sidecar (amend-stats.ts). Default: the finest retention;
   * 0: amends of such files are refused.
   */
  maxLatenessSeconds?: number;
  /** Points waiting in the write-back queue at most; a batch past it is handed back for a retry (default 4 M). */
  maxQueuedPoints?: number;
  /** Files created per second at most; a series whose file must wait is handed back for a retry (default 500). */
  maxCreatesPerSecond?: number;
  /** A round writes every waiting batch (default), or one batch at a time (for benchmarks and tests). */
  coalesce?: boolean;
}

export interface WhisperStoreOptions {
  metrics?: MetricsRegistry;
  logger?: Logger;
  /** Epoch seconds; decides which points are still within an archive's retention. */
  clock?: () => number;
  /**
   * Synchronous file calls, for a store on a thread of its own (the write thread, write-thread.ts): a file update
   * is about ten 12-byte calls, and each through libuv's thread pool costs several times the call itself.
   */
  syncFiles?: boolean;
}

/** Why a point was not written. Every point of a batch ends up written or counted under one of these. */
export type WhisperDropReason =
  'error' | 'outside_retention' | 'invalid_name' | 'unknown_resolution' | 'empty' | 'amend_without_stats';

type Operation = 'open' | 'create' | 'write' | 'fetch' | 'list' | 'close';

/** An open series file with what we learnt about it, cached together so a write costs one positioned write. */
interface OpenSeries {
  handle: WhisperFile;
  header: WhisperHeader;
  /**
   * How a StatPoint becomes this file's value: the file's own aggregation method. For files we create that is the
   * method of the series' rule; an existing file keeps the method in its header (as carbon only applies its rules on
   * creation), so changing a rule never mixes two meanings in one file. Whisper-only methods fall back to the rule.
   */
  method: AggregationMethod;
  /** Archive by step, for reads (a foreign file may have steps other than our resolutions). */
  archiveByStep: Map<number, ArchiveInfo>;
  /** Archive indexes each resolution's windows are written to, by step (see writePlan). */
  targets: Map<number, number[]>;
  /** Per archive index: the lower archives whisper's propagation feeds after a write to it (often none). */
  propagation: number[][];
  /** Base interval per archive offset once known; it only moves by whole laps of the ring, so it stays valid. */
  baseIntervals: Map<number, number>;
  /** The amend sidecar, opened on first need (files of the average and last methods only). */
  stats: StatsSidecar | undefined;
  /** Where the sidecar lives: the file's path + STATS_SUFFIX. */
  statsPath: string;
}

interface OpenArg {
  /** The canonical name, for the aggregation rule of a file we create. */
  name: string;
  /** Create the file when missing (writes) or report it missing (reads). */
  create: boolean;
}

/** One row of a round, for one series' file update. */
interface SeriesItem {
  queued: QueuedBatch;
  row: number;
  point: StatPoint;
  /** Written (or counted as not written): a failure after it must not hand it back, or an amend would repeat. */
  done: boolean;
}

/**
 * Directories remembered as existing, so a file created beside others costs no mkdir -p (a call and a stat). Fixed,
 * not configured: past it the set starts again empty, which only costs those calls again. 4,096 paths of at most
 * PATH_MAX bytes are well under a MiB.
 */
const KNOWN_DIRECTORIES = 4_096;

/** A creation takes milliseconds; a temp file this old was left by a crash. */
const STALE_TEMP_MS = 60_000;

const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

export class WhisperStore implements Writer, SeriesReader {
  readonly name = 'whisper';
  readonly dataDir: string;
  /** Bytes of the absolute data directory, which counts towards PATH_MAX. */
  private readonly dataDirBytes: number;
  private readonly resolutions: readonly Resolution[];
  private readonly rules: readonly AggregationRule[];
  private readonly retention: readonly RetentionRule[];
  private readonly maxLatenessSeconds: number;
  private readonly clock: () => number;
  private readonly fileSystem: FileSystem;
  /** Directories this store made or found (see KNOWN_DIRECTORIES); one removed behind its back is made again. */
  private readonly knownDirectories = new Set<string>();
  private readonly logger?: Logger;
  private readonly files: HandleCache<OpenSeries, OpenArg>;
  private readonly perFile = new KeyedLock();
  private readonly slots: Semaphore;
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly queue: WriteQueue;
  private readonly creations: CreationLimit;
  /** A round runner is active (startRounds). */
  private writing = false;
  private closed = false;

  private readonly filesCreated: CounterChild;
  private readonly mended: Record<'extended' | 'quarantined', CounterChild>;
  private readonly staleTempsRemoved: CounterChild;
  private readonly pointsWritten: CounterChild;
  private readonly notKept: CounterChild;
  private readonly evictions: CounterChild;
  private readonly queueRefused: CounterChild;
  private readonly creationsDeferred: CounterChild;
  private readonly coalescedBatches: CounterChild;
  private readonly writeLatency: HistogramChild;
  private readonly errorCounters: Record<Operation, CounterChild>;
  private readonly dropCounters: Record<WhisperDropReason, CounterChild>;

  constructor(config: WhisperStoreConfig, options: WhisperStoreOptions = {}) {
    if (config.resolutions.length === 0) throw new RangeError('whisper: needs at least one resolution');
    for (const resolution of config.resolutions)
      if (resolution.ttl % resolution.step !== 0)
        throw new RangeError(`whisper: retention of ${resolution.name} is not a whole number of steps`);
    this.dataDir = config.dataDir;
    this.dataDirBytes = Buffer.byteLength(resolvePath(config.dataDir));
    this.resolutions = config.resolutions;
    this.rules = config.aggregationRules ?? DEFAULT_AGGREGATION_RULES;
    const steps = new Set(config.resolutions.map((r) => r.step));
    for (const rule of config.retentionRules ?? [])
      for (const resolution of rule.resolutions) {
        // A rule step the aggregator does not flush would leave that archive empty for ever.
        if (!steps.has(resolution.step))
          throw new RangeError(`whisper: retention ${resolution.name} of ${rule.pattern} has no step of resolutions`);
        if (resolution.ttl % resolution.step !== 0)
          throw new RangeError(`whisper: retention of ${resolution.name} is not a whole number of steps`);
      }
    this.retention = config.retentionRules ?? [{ pattern: /(?:)/, resolutions: config.resolutions }];
    this.maxLatenessSeconds = config.maxLatenessSeconds ?? config.resolutions[0]!.ttl;
    this.clock = options.clock ?? nowSeconds;
    this.fileSystem = options.syncFiles ? syncFileSystem : poolFileSystem;
    this.logger = options.logger;
    this.slots = new Semaphore(config.concurrency ?? 16);
    this.queue = new WriteQueue(config.maxQueuedPoints ?? 4_000_000, config.coalesce ?? true);
    this.creations = new CreationLimit(config.maxCreatesPerSecond ?? 500);

    const metrics = options.metrics ?? new MetricsRegistry();
    this.filesCreated = metrics.counter('whisper_files_created_total', 'Whisper files created').labels();
    const mended = metrics.counter(
      'whisper_files_mended_total',
      'Broken whisper files found by a write: truncated ones extended, unreadable ones moved aside and recreated',
      ['action'],
    );
    this.mended = { extended: mended.labels('extended'), quarantined: mended.labels('quarantined') };
    this.staleTempsRemoved = metrics
      .counter('whisper_stale_temp_files_removed_total', 'Creation temp files left by a crash, removed at start-up')
      .labels();
    this.pointsWritten = metrics.counter('whisper_points_written_total', 'Points written to whisper files').labels();
    // Not a loss: the file keeps no archive of that step by design (its retention rule, or a carbon file's schema).
    this.notKept = metrics
      .counter(
        'whisper_points_not_kept_total',
        "Windows of a resolution the series' file has no archive of (its retention rule or its own schema)",
      )
      .labels();
    this.evictions = metrics
      .counter('whisper_open_file_evictions_total', 'Open whisper files closed to stay within maxOpenFiles')
      .labels();
    this.writeLatency = metrics
      .histogram('whisper_write_seconds', 'Time of one file update (one series, one or more batches)', LATENCY_BUCKETS)
      .labels();
    this.queueRefused = metrics
      .counter(
        'whisper_queue_refused_points_total',
        'Points refused past whisper.max_queued_points, handed back to the writer sink for a retry',
      )
      .labels();
    this.creationsDeferred = metrics
      .counter(
        'whisper_creations_deferred_points_total',
        'Points whose file could not be created yet (whisper.max_creates_per_second), handed back for a retry',
      )
      .labels();
    this.coalescedBatches = metrics
      .counter('whisper_coalesced_batches_total', 'Batches written in a round together with others (store behind)')
      .labels();
    metrics.gauge('whisper_queued_points', 'Points waiting in the write-back queue', [], (gauge) =>
      gauge.set(this.queue.points),
    );
    const errors = metrics.counter('whisper_errors_total', 'Failed whisper file operations', ['operation']);
    this.errorCounters = {
      open: errors.labels('open'),
      create: errors.labels('create'),
      write: errors.labels('write'),
      fetch: errors.labels('fetch'),
      list: errors.labels('list'),
      close: errors.labels('close'),
    };
    const drops = metrics.counter('whisper_points_dropped_total', 'Points not written to whisper, by reason', [
      'reason',
    ]);
    this.dropCounters = {
      error: drops.labels('error'),
      outside_retention: drops.labels('outside_retention'),
      invalid_name: drops.labels('invalid_name'),
      unknown_resolution: drops.labels('unknown_resolution'),
      empty: drops.labels('empty'),
      amend_without_stats: drops.labels('amend_without_stats'),
    };
    metrics.gauge('whisper_open_files', 'Whisper files open now', [], (gauge) => gauge.set(this.files.open));

    this.files = new HandleCache<OpenSeries, OpenArg>({
      limit: config.maxOpenFiles ?? 1024,
      open: (relativePath, arg) => this.openSeries(relativePath, arg),
      close: async (series) => {
        await series.stats?.close();
        await series.handle.close();
      },
      onEvict: () => this.evictions.inc(),
      onCloseError: (error, relativePath) => this.fail('close', error, relativePath),
    });
  }

  /** Whether `name` can be a file here (layout.ts); ingest refuses the others as unstorable_name. */
  storable(name: string): boolean {
    return isStorableWhisperName(name, this.dataDirBytes);
  }

  /**
   * Writes every series of `batch` into the archive of `batch.resolution`. Whisper would normally propagate a fine
   * point into the coarser archives by aggregating the finer slots (subject to xFilesFactor); in our own files we do
   * not, because the aggregator already computed every resolution exactly from all samples and flushes each one as
   * its own batch. Propagating would overwrite those exact values with an aggregate of aggregates (an average of
   * averages, weighted wrongly) or drop them under xFilesFactor. Files with other archives (carbon's) are written
   * by writePlan: exact where a step matches, whisper's own propagation for the rest. Never throws: failures are
   * counted per series, and one failing file does not stop the others.
   *
   * The batch waits in the write-back queue (write-queue.ts) for a round; a round takes every batch waiting, so a
   * store that falls behind updates each file once for several batches. Resolves once its points are in the files
   * (or handed back in `retry`: failed, deferred by the creation limit, or refused by a full queue).
   */
  write(batch: FlushBatch): Promise<WriteOutcome> {
    const count = batch.names.length;
    if (this.closed) {
      this.dropCounters.error.inc(count);
      this.fail('write', new Error('store is closed'), '');
      return Promise.resolve({});
    }
    const resolution = this.resolutions.find((r) => r.step === batch.resolution.step);
    if (!resolution) {
      this.dropCounters.unknown_resolution.inc(count);
      return Promise.resolve({});
    }
    const now = this.clock();
    // Whisper refuses points beyond an archive's retention: in the ring they would overwrite newer ones.
    if (batch.time <= 0 || batch.time > 0xffffffff || now - batch.time >= resolution.ttl || batch.time > now) {
      this.dropCounters.outside_retention.inc(count);
      return Promise.resolve({});
    }
    return new Promise<WriteOutcome>((resolve) => {
      if (!this.queue.offer({ batch, now, failed: [], settle: resolve })) {
        this.queueRefused.inc(count);
        resolve({ retry: batch });
        return;
      }
      this.startRounds();
    });
  }

  /** Runs rounds until the queue is empty; one runner at a time, so batches that arrive meanwhile wait together. */
  private startRounds(): void {
    if (this.writing) return;
    this.writing = true;
    void this.track(async () => {
      try {
        // Batches handed over in the same tick (a flush's resolutions) join the first round.
        await Promise.resolve();
        for (let round = this.queue.take(); round.length > 0; round = this.queue.take()) await this.writeRound(round);
      } finally {
        this.writing = false;
      }
    });
  }

  /** One file update per series of the round, then every batch of it settled with the rows to retry. */
  private async writeRound(round: QueuedBatch[]): Promise<void> {
    if (round.length > 1) this.coalescedBatches.inc(round.length);
    const work = [...rowsBySeries(round)];
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < work.length; i = next++) await this.writeSeries(work[i]![0], work[i]![1]);
    };
    await Promise.all(Array.from({ length: Math.min(this.slots.limit, work.length) }, worker));
    for (const { batch, failed, settle } of round)
      // An I/O failure (a full disk, say) may pass: those series go back to the caller to be written again.
      settle(
        failed.length === 0
          ? {}
          : {
              retry: subsetBatch(
                batch,
                failed.sort((a, b) => a - b),
              ),
            },
      );
  }

  /**
   * Writes the rows of one series (from one batch or several) in one file update. A row that failed in a way that
   * may pass (counted as an error, or a creation deferred) goes to its batch's `failed`.
   */
  private async writeSeries(name: string, rows: readonly RoundRow[]): Promise<void> {
    const items: SeriesItem[] = [];
    for (const { queued, row } of rows) {
      const point = batchPoint(queued.batch, row);
      if (point.count === 0) this.dropCounters.empty.inc();
      else items.push({ queued, row, point, done: false });
    }
    if (items.length === 0) return;
    const relativePath = whisperRelativePath(name);
    if (!relativePath) {
      this.dropCounters.invalid_name.inc(items.length);
      return;
    }
    const started = process.hrtime.bigint();
    try {
      await this.withSeries(name, relativePath, (series) => this.updateSeries(series, items));
    } catch (error) {
      // Not dropped: handed back for a retry (counted in whisper_errors_total by operation, or as deferred).
      const undone = items.filter((item) => !item.done);
      for (const item of undone) item.queued.failed.push(item.row);
      if (error instanceof OpenError && error.operation === 'deferred') this.creationsDeferred.inc(undone.length);
      else if (!(error instanceof OpenError)) {
        this.fail('write', error, relativePath);
        // The handle may be in doubt after a failed write; reopen it next time.
        await this.files.discard(relativePath);
      }
    } finally {
      this.writeLatency.observe(Number(process.hrtime.bigint() - started) / 1e9);
    }
  }

  /**
   * On-time rows are written together: per archive one write of each run of slots, then whisper's propagation
   * once per interval of the archive below. An amend reads the slot it merges into, so it waits for the rows
   * before it and is applied on its own, in arrival order: the file ends exactly as after one update per row.
   */
  private async updateSeries(series: OpenSeries, items: SeriesItem[]): Promise<void> {
    let from = 0;
    for (let i = 0; i < items.length; i++) {
      if (items[i]!.queued.batch.amend === undefined) continue;
      await this.writeOnTime(series, items.slice(from, i));
      await this.writeAmend(series, items[i]!);
      from = i + 1;
    }
    await this.writeOnTime(series, items.slice(from));
  }

  private async writeOnTime(series: OpenSeries, items: readonly SeriesItem[]): Promise<void> {
    if (items.length === 0) return;
    // Per archive: value by interval, the later row winning an interval (as the later of two updates would).
    const slots = new Map<number, Map<number, number>>();
    const outcomes: ('written' | 'not_kept' | 'outside_retention')[] = [];
    for (const { queued, point } of items) {
      const { batch, now } = queued;
      const targets = series.targets.get(batch.resolution.step);
      if (!targets) {
        outcomes.push('not_kept');
        continue;
      }
      let any = false;
      for (const index of targets) {
        const archive = series.header.archives[index]!;
        // Beyond the archive's retention the ring slot holds newer data (whisper refuses such points too).
        if (now - batch.time >= archive.retention) continue;
        if (archive.secondsPerPoint === batch.resolution.step)
          await this.keepStats(series, index, archive, batch.time, point);
        const interval = batch.time - (batch.time % archive.secondsPerPoint);
        let values = slots.get(index);
        if (!values) slots.set(index, (values = new Map()));
        values.set(interval, valueOf(point, series.method));
        any = true;
      }
      outcomes.push(any ? 'written' : 'outside_retention');
    }
    for (const [index, values] of slots) {
      const points = [...values].sort((a, b) => a[0] - b[0]).map(([time, value]) => ({ time, value }));
      await this.writeArchive(series, index, points);
    }
    items.forEach((item, i) => {
      item.done = true;
      this.countOutcome(outcomes[i]!);
    });
  }

  /** A late row merged into what its slots hold (amendedValue); exact archives only. */
  private async writeAmend(series: OpenSeries, item: SeriesItem): Promise<void> {
    const { batch, now } = item.queued;
    const targets = series.targets.get(batch.resolution.step);
    let outcome: 'written' | 'not_kept' | WhisperDropReason = targets ? 'outside_retention' : 'not_kept';
    let refused = false;
    for (const index of targets ?? []) {
      const archive = series.header.archives[index]!;
      if (now - batch.time >= archive.retention) continue;
      // A foreign archive of another step keeps whisper's last-write-wins: a late point is not merged there.
      if (archive.secondsPerPoint !== batch.resolution.step) continue;
      const value = await this.amendedValue(series, index, archive, batch.time, item.point);
      if (value === undefined) {
        refused = true;
        continue;
      }
      await this.writeArchive(series, index, [{ time: batch.time, value }]);
      outcome = 'written';
    }
    if (outcome !== 'written' && refused) outcome = 'amend_without_stats';
    item.done = true;
    this.countOutcome(outcome);
  }

  /** Points (oldest first, one per interval) into one archive, then whisper's propagation below it if any. */
  private async writeArchive(series: OpenSeries, index: number, points: readonly TimedValue[]): Promise<void> {
    const archive = series.header.archives[index]!;
    const base = await writeArchivePoints(series.handle, archive, points, series.baseIntervals.get(archive.offset));
    series.baseIntervals.set(archive.offset, base);
    const lower = series.propagation[index];
    if (!lower || lower.length === 0) return;
    // Once per interval of the next archive: each run recomputes it from every slot written above.
    const step = series.header.archives[lower[0]!]!.secondsPerPoint;
    const spans = new Set(points.map(({ time }) => time - (time % step)));
    for (const span of spans)
      await propagateDown(series.handle, series.header, index, lower, span, series.baseIntervals);
  }

  private countOutcome(outcome: 'written' | 'not_kept' | WhisperDropReason): void {
    if (outcome === 'written') this.pointsWritten.inc();
    else if (outcome === 'not_kept') this.notKept.inc();
    else this.dropCounters[outcome].inc();
  }

  /** The sidecar of a file whose method needs one (average, last), opened on first use; undefined otherwise. */
  private async sidecarOf(series: OpenSeries): Promise<StatsSidecar | undefined> {
    if ((series.method !== 'average' && series.method !== 'last') || this.maxLatenessSeconds <= 0) return undefined;
    if (series.stats === undefined) {
      const steps = new Set(this.resolutions.map((r) => r.step));
      series.stats = await StatsSidecar.open(
        series.statsPath,
        statsSlots(series.header, steps, this.maxLatenessSeconds),
        this.fileSystem.open,
      );
    }
    return series.stats;
  }

  /** An on-time write of an average/last file: its sum, count and last timestamp into the sidecar. */
  private async keepStats(
    series: OpenSeries,
    index: number,
    archive: ArchiveInfo,
    time: number,
    point: StatPoint,
  ): Promise<void> {
    const stats = await this.sidecarOf(series);
    if (stats === undefined || !stats.keeps(index)) return;
    await stats.write(index, archive.secondsPerPoint, time, {
      sum: point.sum,
      count: point.count,
      lastTime: point.lastTime ?? time,
    });
  }

  /**
   * The value of the window at `time` once `late` is merged into what the archive holds, exactly as if it had
   * been there when written (core mergeStatPoint): sum, min and max from the stored value alone, average and last
   * with the sidecar's numbers. Undefined when the stored window's numbers are not kept (written before the sidecar
   * or past max_lateness): the amend is then refused, counted, rather than guessed.
   */
  private async amendedValue(
    series: OpenSeries,
    index: number,
    archive: ArchiveInfo,
    time: number,
    late: StatPoint,
  ): Promise<number | undefined> {
    const [stored] = await readArchiveIntervals(
      series.handle,
      archive,
      time,
      1,
      series.baseIntervals.get(archive.offset),
    );
    const step = archive.secondsPerPoint;
    const lateLast = late.lastTime ?? time;
    if (stored === null || stored === undefined) {
      // Nothing stored: the amend is the window.
      await this.keepStats(series, index, archive, time, late);
      return valueOf(late, series.method);
    }
    switch (series.method) {
      case 'sum':
        return stored + late.sum;
      case 'min':
        return Math.min(stored, late.min);
      case 'max':
        return Math.max(stored, late.max);
      case 'average':
      case 'last': {
        const sidecar = await this.sidecarOf(series);
        const kept = sidecar?.keeps(index) ? await sidecar.read(index, step, time) : undefined;
        if (sidecar === undefined || kept === undefined) return undefined;
        const merged = {
          sum: kept.sum + late.sum,
          count: kept.count + late.count,
          lastTime: Math.max(kept.lastTime, lateLast),
        };
        await sidecar.write(index, step, time, merged);
        if (series.method === 'average') return merged.sum / merged.count;
        // Ties go to the later arrival: the late point.
        return lateLast >= kept.lastTime ? late.last : stored;
      }
    }
  }

  /**
   * Stored values of `name` for every window of `resolution` whose start lies in [from, until): the first slot is the
   * window starting at `from` rounded up to the step. `null` where nothing is stored, also when the series has no
   * file or its file has no archive of that step. Errors are counted and read as empty.
   */
  async fetch(name: string, resolution: Resolution, from: number, until: number): Promise<(number | null)[]> {
    return (await this.fetchSeries(name, resolution, from, until)).values;
  }

  /** How a render worker reads these files itself, read-only (reader.ts), off the thread that writes them. */
  workerReader(): WorkerReaderSpec {
    return whisperWorkerReader(this.dataDir);
  }

  /** Like `fetch`, and says which window the first value is for. */
  async fetchSeries(name: string, resolution: Resolution, from: number, until: number): Promise<SeriesValues> {
    const { start, step, count } = this.slotsOf(resolution, from, until);
    const values = await this.readArchive(name, step, start, count, readArchiveIntervals);
    return { start, step, values: values ?? new Array<null>(count).fill(null) };
  }

  /** `fetch` as a Float64Array (SeriesReader.fetchFloat64): NaN where nothing is stored or it is not finite. */
  async fetchFloat64(name: string, resolution: Resolution, from: number, until: number): Promise<Float64Array> {
    const { start, step, count } = this.slotsOf(resolution, from, until);
    return (await this.readArchive(name, step, start, count, readArchiveFloat64)) ?? new Float64Array(count).fill(NaN);
  }

  private slotsOf(resolution: Resolution, from: number, until: number): { start: number; step: number; count: number } {
    return { ...readSlots(resolution.step, from, until), step: resolution.step };
  }

  /** `count` slots of `name`'s archive of `step` from `start`, decoded by `read`; undefined when empty. */
  private async readArchive<T>(
    name: string,
    step: number,
    start: number,
    count: number,
    read: (handle: WhisperFile, archive: ArchiveInfo, start: number, count: number, base?: number) => Promise<T>,
  ): Promise<T | undefined> {
    const relativePath = whisperRelativePath(name);
    if (!relativePath || count === 0 || this.closed) return undefined;
    try {
      // Tracked like writes, so `close` never leaves a file opened by a read still running.
      const values = await this.track(() =>
        this.withSeries(
          name,
          relativePath,
          async (series) => {
            const archive = series.archiveByStep.get(step);
            if (!archive) return null;
            let known = series.baseIntervals.get(archive.offset);
            if (known === undefined) {
              // learnt once, as writes learn it: it only moves by whole laps of the ring
              known = await readBaseInterval(series.handle, archive);
              if (known === 0) return null;
              series.baseIntervals.set(archive.offset, known);
            }
            return read(series.handle, archive, start, count, known);
          },
          false,
        ),
      );
      return values ?? undefined;
    } catch (error) {
      if (!(error instanceof OpenError) || error.operation !== 'missing') this.fail('fetch', error, relativePath);
      return undefined;
    }
  }

  /**
   * Canonical names of every series file under the data directory, sorted, so the query index can be rebuilt
   * after a restart. Unreadable directories are counted and skipped.
   */
  async listSeries(): Promise<string[]> {
    const names: string[] = [];
    let hashNamed = 0;
    const walk = async (dir: string): Promise<void> => {
      let entries: Dirent[];
      try {
        entries = [];
        for await (const entry of await opendir(dir)) entries.push(entry);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || dir !== this.dataDir)
          this.fail('list', error, relative(this.dataDir, dir));
        return;
      }
      for (const entry of entries) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) await walk(path);
        else if (entry.isFile() && isCreationTemp(entry.name)) await this.removeStaleTemp(path);
        else if (entry.isFile() && isHashNamedFile(relative(this.dataDir, path))) hashNamed++;
        else if (entry.isFile()) {
          const name = canonicalFromRelativePath(relative(this.dataDir, path));
          if (name !== null) names.push(name);
        }
      }
    };
    await walk(this.dataDir);
    if (hashNamed > 0)
      this.logger?.info(
        { files: hashNamed },
        'tagged whisper files named by hash (carbon TAG_HASH_FILENAMES): found by name once a point arrives, read and extended in place',
      );
    return names.sort();
  }

  /** A creation temp file a crash left behind (never a series): removed once it is older than any creation. */
  private async removeStaleTemp(path: string): Promise<void> {
    try {
      if (Date.now() - (await stat(path)).mtimeMs < STALE_TEMP_MS) return;
      await unlink(path);
      this.staleTempsRemoved.inc();
    } catch {
      // Gone meanwhile (its creation finished), or not ours to remove: either way not a series.
    }
  }

  /** Waits for writes and reads in flight, then closes every open file. Later writes are counted as dropped. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.inFlight]);
    await this.files.closeAll();
  }

  /** Files open now (for tests and health). */
  get openFiles(): number {
    return this.files.open;
  }

  private ruleFor(name: string): AggregationRule {
    return aggregationRuleFor(splitCanonical(name).path, this.rules);
  }

  /** One operation on one series file: serialized per file, bounded overall, with the file open (or created). */
  private withSeries<T>(
    name: string,
    relativePath: string,
    task: (series: OpenSeries) => Promise<T>,
    create = true,
  ): Promise<T> {
    return this.perFile.run(relativePath, () =>
      this.slots.run(async () => {
        return this.files.use(relativePath, { name, create }, task);
      }),
    );
  }

  /**
   * Opens the series file. When it does not exist, a write creates it (and its directories) with our archives and
   * the method of `name`'s rule; a read does not. A write that finds the file broken mends it first (mendSeries).
   */
  private async openSeries(readablePath: string, { name, create }: OpenArg): Promise<OpenSeries> {
    const relativePath = (await this.carbonHashNamed(name, readablePath)) ?? readablePath;
    const path = join(this.dataDir, relativePath);
    let handle: WhisperFile;
    try {
      handle = await this.fileSystem.open(path, 'r+');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw this.openFailed('open', error, relativePath);
      if (!create) throw new OpenError('missing', relativePath);
      // Not counted as an error: the points wait for the sink's retry (counted as deferred).
      if (!this.creations.take()) throw new OpenError('deferred', relativePath);
      return this.createOrOpenSeries(path, relativePath, name);
    }
    try {
      const bases = new Map<number, number>();
      const header = await readHeader(handle, path, bases);
      if (create) await this.extendTruncated(handle, header, relativePath);
      return describe(path, handle, header, this.ruleFor(name).method, this.resolutions, bases);
    } catch (error) {
      await handle.close().catch(() => undefined);
      if (create && error instanceof CorruptWhisperFileError) {
        await this.quarantine(path, relativePath, error);
        return this.createOrOpenSeries(path, relativePath, name);
      }
      throw this.openFailed('open', error, relativePath);
    }
  }

  /** A carbon tree's hash-named file of tagged `name`, when there is one and no readably named file. */
  private async carbonHashNamed(name: string, readablePath: string): Promise<string | null> {
    const hashed = hashNamedRelativePath(name);
    if (hashed === null) return null;
    const exists = (relativePath: string): Promise<boolean> =>
      access(join(this.dataDir, relativePath)).then(
        () => true,
        () => false,
      );
    return !(await exists(readablePath)) && (await exists(hashed)) ? hashed : null;
  }

  private async createOrOpenSeries(path: string, relativePath: string, name: string): Promise<OpenSeries> {
    try {
      const { handle, header } = await this.createSeries(path, name);
      this.filesCreated.inc();
      return describe(path, handle, header, this.ruleFor(name).method, this.resolutions);
    } catch (createError) {
      if ((createError as NodeJS.ErrnoException).code !== 'EEXIST')
        throw this.openFailed('create', createError, relativePath);
    }
    // Created meanwhile by another process (or another store on the same directory): use theirs.
    let handle: WhisperFile;
    try {
      handle = await this.fileSystem.open(path, 'r+');
    } catch (reopenError) {
      throw this.openFailed('open', reopenError, relativePath);
    }
    try {
      return describe(path, handle, await readHeader(handle, path), this.ruleFor(name).method, this.resolutions);
    } catch (error) {
      await handle.close().catch(() => undefined);
      throw this.openFailed('open', error, relativePath);
    }
  }

  /**
   * A file shorter than its header says (cut by a crash or a full disk in another writer, e.g. carbon without
   * sparse files): the missing slots would read as nothing anyway, so it is extended to full size with zeros
   * (empty slots) and keeps every point it holds.
   */
  private async extendTruncated(handle: WhisperFile, header: WhisperHeader, relativePath: string): Promise<void> {
    const expected = fileSizeOf(header);
    if ((await handle.size()) >= expected) return;
    await handle.truncate(expected);
    this.mended.extended.inc();
    this.logger?.warn({ file: relativePath, size: expected }, 'whisper file was truncated: extended to full size');
  }

  /**
   * A file whose header cannot be read (empty, or not whisper) holds nothing we can use: it is moved aside to
   * `<name>.wsp.corrupt-<epoch ms>` for the operator, and a new file takes its place.
   */
  private async quarantine(path: string, relativePath: string, reason: Error): Promise<void> {
    const aside = `${path}.corrupt-${Date.now()}`;
    try {
      await rename(path, aside);
    } catch (error) {
      throw this.openFailed('open', error, relativePath);
    }
    this.mended.quarantined.inc();
    this.logger?.warn(
      { file: relativePath, movedTo: aside, reason: reason.message },
      'corrupt whisper file moved aside',
    );
  }

  private async createSeries(path: string, name: string) {
    const rule = this.ruleFor(name);
    const header = layoutHeader(
      retentionFor(name, this.retention).map((r) => ({ secondsPerPoint: r.step, points: r.ttl / r.step })),
      rule.method,
      rule.xFilesFactor,
    );
    const directory = dirname(path);
    if (this.knownDirectories.has(directory)) {
      try {
        return await createWhisperFile(path, header, this.fileSystem);
      } catch (error) {
        // Removed since (by an operator, say): forgotten, and made again below.
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        this.knownDirectories.delete(directory);
      }
    }
    await this.fileSystem.makeDirectory(directory);
    if (this.knownDirectories.size >= KNOWN_DIRECTORIES) this.knownDirectories.clear();
    this.knownDirectories.add(directory);
    return createWhisperFile(path, header, this.fileSystem);
  }

  private openFailed(operation: Operation, error: unknown, relativePath: string): OpenError {
    this.fail(operation, error, relativePath);
    return new OpenError(operation, relativePath, error);
  }

  private fail(operation: Operation, error: unknown, relativePath: string): void {
    this.errorCounters[operation].inc();
    this.logger?.warn({ err: error, file: relativePath, operation }, 'whisper file operation failed');
  }

  private async track<T>(task: () => Promise<T>): Promise<T> {
    const running = task();
    this.inFlight.add(running);
    try {
      return await running;
    } finally {
      this.inFlight.delete(running);
    }
  }
}

function describe(
  path: string,
  handle: WhisperFile,
  header: WhisperHeader,
  ruleMethod: AggregationMethod,
  resolutions: readonly Resolution[],
  baseIntervals = new Map<number, number>(),
): OpenSeries {
  const fileMethod = header.aggregationMethod;
  const { targets, propagation } = writePlan(header, resolutions);
  return {
    handle,
    header,
    method: (AGGREGATION_METHODS as readonly string[]).includes(fileMethod)
      ? (fileMethod as AggregationMethod)
      : ruleMethod,
    archiveByStep: new Map(header.archives.map((archive) => [archive.secondsPerPoint, archive])),
    targets,
    propagation,
    baseIntervals,
    stats: undefined,
    statsPath: path + STATS_SUFFIX,
  };
}

/**
 * Which archives each resolution's windows are written to, and which archives whisper's propagation feeds. An
 * archive of the same step as a resolution gets that resolution's exact value. A file whose finest archive is no
 * resolution of ours (a carbon file, say 15s:1d) gets our finest windows there with whisper's update semantics
 * (aligned to its step, the last write of an interval wins). Every archive fed neither way gets whisper's
 * propagation from the archive above it, as carbon's files do; an archive fed exactly is never overwritten by it.
 */
function writePlan(
  header: WhisperHeader,
  resolutions: readonly Resolution[],
): Pick<OpenSeries, 'targets' | 'propagation'> {
  const steps = new Set(resolutions.map((r) => r.step));
  const archives = header.archives;
  const targets = new Map<number, number[]>();
  const target = (step: number, index: number): void => {
    const list = targets.get(step);
    if (list) list.push(index);
    else targets.set(step, [index]);
  };
  const fed = archives.map((archive) => steps.has(archive.secondsPerPoint));
  archives.forEach((archive, index) => {
    if (fed[index]) target(archive.secondsPerPoint, index);
  });
  const finest = resolutions[0];
  if (archives.length > 0 && !fed[0] && finest) {
    target(finest.step, 0);
    fed[0] = true;
  }
  const propagation = archives.map((_, index) => {
    const chain: number[] = [];
    for (let lower = index + 1; lower < archives.length && !fed[lower]; lower++) chain.push(lower);
    return chain;
  });
  return { targets, propagation };
}

/** Opening or creating a series file failed; already counted under its operation. */
class OpenError extends Error {
  constructor(
    readonly operation: Operation | 'missing' | 'deferred',
    readonly relativePath: string,
    cause?: unknown,
  ) {
    super(`whisper: ${operation} failed for ${relativePath}`, { cause });
    this.name = 'OpenError';
  }
}
