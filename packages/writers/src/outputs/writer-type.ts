/**
 * How a writer type plugs into the catalogue: its name, archetypes, own keys and an `open` that builds its
 * Delivery (pushing writers, run behind a QueuedWriter) or its Writer (pull writers, which only keep state).
 * `defineWriterType` adds the common keys of its archetype (queue, retries, batching) to the type's own keys, so
 * every entry of `[[writers]]` is read, checked and documented from one list of declarations.
 */
import {
  ConfigError,
  ConfigSource,
  configKey,
  readSection,
  type AggregationRule,
  type ConfigSection,
  type ConfigSchema,
  type Logger,
  type MetricsRegistry,
  type Resolution,
  type SectionValues,
  type Writer,
} from '@carillon/core';
import { QueuedWriter, type Delivery } from './queued-writer.js';

export type Archetype = 'immediate' | 'batched' | 'connection' | 'pull';

/** What every writer is opened with. */
export interface WriterContext {
  /** The entry's `name` (the type by default); the `writer` label on /metrics. */
  name: string;
  registry: MetricsRegistry;
  logger: Logger;
  resolutions: readonly Resolution[];
  aggregationRules: readonly AggregationRule[];
  /** The entry's timeouts and backoff, for the writer's own I/O (connects, requests). */
  io: WriterIo;
}

export interface WriterIo {
  writeTimeoutMs: number;
  closeTimeoutMs: number;
  backoff: { baseMs: number; maxMs: number };
}

/** Defaults a batched type may set for its batching keys. */
export interface BatchingDefaults {
  batchPoints: number;
  batchMinPoints: number;
  batchMaxPoints: number;
  batchMaxBytes: number;
  flushInterval: string;
  latencyTarget: string;
}

const BATCHING: BatchingDefaults = {
  batchPoints: 5_000,
  batchMinPoints: 100,
  batchMaxPoints: 200_000,
  batchMaxBytes: 8 << 20,
  flushInterval: '1s',
  latencyTarget: '500ms',
};

/** Keys of every entry. */
function commonKeys(types: string) {
  return {
    type: configKey.string({ key: 'type', default: '', description: `the writer type: ${types}` }),
    name: configKey.string({
      key: 'name',
      default: '',
      computedDefault: 'the type',
      description: 'the writer label on /metrics and the spill file name; unique among the writers',
    }),
  } as const;
}

/** Keys of every pushing writer (queue, retries, spill). */
function queueKeys() {
  return {
    queueMaxPoints: configKey.integer({
      key: 'queue_max_points',
      default: 1_000_000,
      min: 1,
      unit: 'points',
      description: 'points queued for this writer; past it the oldest are dropped (counted as queue_full)',
    }),
    maxRetries: configKey.integer({
      key: 'max_retries',
      default: 20,
      min: 0,
      description: 'a failed delivery is tried again this many times (backoff between), then dropped (counted)',
    }),
    retryBackoff: configKey.duration({
      key: 'retry_backoff',
      default: '200ms',
      readAs: 'milliseconds',
      min: '1ms',
      description: 'first delay before a retry or a reconnect; doubles up to retry_backoff_max',
    }),
    retryBackoffMax: configKey.duration({
      key: 'retry_backoff_max',
      default: '10s',
      readAs: 'milliseconds',
      min: '1ms',
      description: 'longest delay between retries and reconnects',
    }),
    writeTimeout: configKey.duration({
      key: 'write_timeout',
      default: '10s',
      readAs: 'milliseconds',
      min: '1ms',
      description: 'a delivery (and a connect) not done in this time fails as a timeout',
    }),
    closeTimeout: configKey.duration({
      key: 'close_timeout',
      default: '10s',
      readAs: 'milliseconds',
      min: '1ms',
      description: 'at shutdown, time to deliver what is queued; the rest is spilled to disk',
    }),
    spillDir: configKey.string({
      key: 'spill_dir',
      default: '',
      computedDefault: '<whisper.data_dir>/writers ("" for store = "memory")',
      description: 'where points not delivered at shutdown are kept, to be delivered first after restart; "" for none',
    }),
  } as const;
}

function batchKeys(d: BatchingDefaults) {
  return {
    batchPoints: configKey.integer({
      key: 'batch_points',
      default: d.batchPoints,
      min: 1,
      unit: 'points',
      description: 'starting batch size; adapts between batch_min_points and batch_max_points',
    }),
    batchMinPoints: configKey.integer({
      key: 'batch_min_points',
      default: d.batchMinPoints,
      min: 1,
      unit: 'points',
      description: 'smallest adaptive batch',
    }),
    batchMaxPoints: configKey.integer({
      key: 'batch_max_points',
      default: d.batchMaxPoints,
      min: 1,
      unit: 'points',
      description: 'largest adaptive batch',
    }),
    batchMaxBytes: configKey.integer({
      key: 'batch_max_bytes',
      default: d.batchMaxBytes,
      min: 1024,
      unit: 'bytes',
      description: 'a batch is sent once its encoded size (estimated) reaches this, whatever its points',
    }),
    flushInterval: configKey.duration({
      key: 'flush_interval',
      default: d.flushInterval,
      readAs: 'milliseconds',
      description: 'a batch is sent once its oldest point has waited this long, full or not',
    }),
    batchAdaptive: configKey.boolean({
      key: 'batch_adaptive',
      default: true,
      description: 'grow the batch while deliveries are fast and clean, shrink it on slow or failed ones',
    }),
    latencyTarget: configKey.duration({
      key: 'latency_target',
      default: d.latencyTarget,
      readAs: 'milliseconds',
      min: '1ms',
      description: 'a delivery slower than this shrinks the batch',
    }),
    batchGrow: configKey.number({
      key: 'batch_grow',
      default: 2,
      min: 1,
      max: 16,
      description: 'factor the batch grows by after a clean evaluation window',
    }),
    batchShrink: configKey.number({
      key: 'batch_shrink',
      default: 0.5,
      min: 0.01,
      max: 1,
      description: 'factor the batch shrinks by on a slow or failed delivery',
    }),
    batchWindow: configKey.integer({
      key: 'batch_window',
      default: 3,
      min: 1,
      unit: 'operations',
      description: 'full deliveries, all fast and clean, before the batch grows',
    }),
  } as const;
}

export interface WriterTypeSpec<S extends ConfigSection> {
  type: string;
  /** The first is how it is queued: immediate, batched (and connection), or pull (no queue). */
  archetypes: readonly Archetype[];
  description: string;
  keys: S;
  batching?: Partial<BatchingDefaults>;
  /** Checks the values together (required keys, combinations): throws a ConfigError naming the key. */
  check?(values: SectionValues<S>): void;
  /** A pushing writer's Delivery; a pull writer's Writer. */
  open(values: SectionValues<S>, context: WriterContext): Promise<Delivery | Writer>;
}

export interface OpenDefaults {
  spillDir: string;
}

/** One `[[writers]]` entry, read and checked, ready to open. */
export interface PreparedWriter {
  readonly name: string;
  readonly type: string;
  open(context: Omit<WriterContext, 'name' | 'io'>): Promise<Writer>;
}

/** A writer type with its keys erased, so types of different keys sit in one list. */
export interface WriterType {
  readonly type: string;
  readonly archetypes: readonly Archetype[];
  readonly description: string;
  /** Every key an entry of this type takes, for the docs. */
  readonly schema: ConfigSchema;
  /** Reads and checks one entry (ConfigErrors name the entry's own keys; the caller prefixes them). */
  prepare(entry: ConfigSource, defaults: OpenDefaults): PreparedWriter;
}

const PULL_IO: WriterIo = { writeTimeoutMs: 10_000, closeTimeoutMs: 10_000, backoff: { baseMs: 200, maxMs: 10_000 } };

export function defineWriterType<S extends ConfigSection>(spec: WriterTypeSpec<S>): WriterType {
  const pull = spec.archetypes[0] === 'pull';
  const immediate = spec.archetypes[0] === 'immediate';
  const common = commonKeys(spec.type);
  const queue = queueKeys();
  const batch = batchKeys({ ...BATCHING, ...spec.batching });
  const schema: ConfigSchema = [
    ...Object.values(common),
    ...Object.values(spec.keys),
    ...(pull ? [] : Object.values(queue)),
    ...(pull || immediate ? [] : Object.values(batch)),
  ];
  return {
    type: spec.type,
    archetypes: spec.archetypes,
    description: spec.description,
    schema,
    prepare(entry, defaults) {
      const name = entry.read(common.name, spec.type);
      entry.read(common.type);
      const own = readSection(entry, spec.keys);
      spec.check?.(own);
      if (pull) {
        entry.assertAllKeysKnown();
        return {
          name,
          type: spec.type,
          async open(context) {
            const writer = await spec.open(own, { ...context, name, io: PULL_IO });
            if ('deliver' in writer) throw new Error(`writer type ${spec.type}: a pull writer opens a Writer`);
            return writer;
          },
        };
      }
      const q = readSection(entry, queue);
      const b = immediate ? undefined : readSection(entry, batch);
      const spillDir = entry.read(queue.spillDir, defaults.spillDir);
      entry.assertAllKeysKnown();
      if (b !== undefined) {
        if (b.batchMinPoints > b.batchMaxPoints)
          throw new ConfigError(batch.batchMinPoints.key, `must be at most batch_max_points (${b.batchMaxPoints})`);
        if (b.batchPoints < b.batchMinPoints || b.batchPoints > b.batchMaxPoints)
          throw new ConfigError(batch.batchPoints.key, 'must lie within batch_min_points and batch_max_points');
      }
      const io: WriterIo = {
        writeTimeoutMs: q.writeTimeout,
        closeTimeoutMs: q.closeTimeout,
        backoff: { baseMs: q.retryBackoff, maxMs: q.retryBackoffMax },
      };
      return {
        name,
        type: spec.type,
        async open(context) {
          const delivery = await spec.open(own, { ...context, name, io });
          if (!('deliver' in delivery)) throw new Error(`writer type ${spec.type}: a pushing writer opens a Delivery`);
          return QueuedWriter.open(
            delivery,
            {
              name,
              immediate,
              maxQueuePoints: q.queueMaxPoints,
              batch: {
                initial: b?.batchPoints ?? 1,
                min: b?.batchMinPoints ?? 1,
                max: b?.batchMaxPoints ?? 1,
                targetMs: b?.latencyTarget ?? 1,
                grow: b?.batchGrow ?? 1,
                shrink: b?.batchShrink ?? 1,
                window: b?.batchWindow ?? 1,
                adaptive: b?.batchAdaptive ?? false,
              },
              maxBatchBytes: b?.batchMaxBytes ?? Infinity,
              flushIntervalMs: b?.flushInterval ?? 0,
              maxRetries: q.maxRetries,
              backoff: io.backoff,
              writeTimeoutMs: io.writeTimeoutMs,
              closeTimeoutMs: io.closeTimeoutMs,
              spillDir,
              resolutions: context.resolutions,
            },
            { registry: context.registry, logger: context.logger },
          );
        },
      };
    },
  };
}
