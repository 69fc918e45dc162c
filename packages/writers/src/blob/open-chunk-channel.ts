/**
 * A BroadcastChannel between a blob store (main thread) and its write pool workers, which own the open chunks:
 * reads ask for a series' open chunk (the points flushed but not yet persisted), and workers report their chunk
 * cache counters. Every worker gets every request; the one holding the series answers with it, the others with
 * nothing, so a read completes when one holder answered or every worker said it holds nothing.
 */
import { BroadcastChannel, threadId } from 'node:worker_threads';
import type { ChunkCacheGauges, ChunkCacheStats } from './cache-stats.js';

export type ChannelMessage =
  | { type: 'open-chunk?'; request: number; id: bigint; step: number }
  | { type: 'open-chunk'; request: number; thread: number; chunk: { chunkStart: number; data: Uint8Array } | null }
  | { type: 'stats'; thread: number; stats: ChunkCacheStats; gauges: ChunkCacheGauges };

/** The worker side: answers open-chunk requests from `lookup`, posts counters on demand. */
export class OpenChunkResponder {
  private readonly channel: BroadcastChannel;

  constructor(name: string, lookup: (id: bigint, step: number) => { chunkStart: number; data: Uint8Array } | null) {
    this.channel = new BroadcastChannel(name);
    this.channel.unref();
    this.channel.onmessage = (event) => {
      const message = (event as { data: ChannelMessage }).data;
      if (message.type !== 'open-chunk?') return;
      const reply: ChannelMessage = {
        type: 'open-chunk',
        request: message.request,
        thread: threadId,
        chunk: lookup(message.id, message.step),
      };
      this.channel.postMessage(reply);
    };
  }

  reportStats(stats: ChunkCacheStats, gauges: ChunkCacheGauges): void {
    this.channel.postMessage({ type: 'stats', thread: threadId, stats, gauges } satisfies ChannelMessage);
  }

  close(): void {
    this.channel.close();
  }
}

interface PendingRequest {
  answers: number;
  resolve: (chunk: { chunkStart: number; data: Uint8Array } | null) => void;
  timer: NodeJS.Timeout;
}

/** The store side: asks the workers for open chunks and keeps each worker's latest counters. */
export class OpenChunkRequester {
  private readonly channel: BroadcastChannel;
  private readonly pending = new Map<number, PendingRequest>();
  private nextRequest = 0;
  /** Latest report per worker thread; a worker that died keeps its last report (its counters happened). */
  readonly reports = new Map<number, { stats: ChunkCacheStats; gauges: ChunkCacheGauges }>();
  timeouts = 0;

  constructor(
    name: string,
    private readonly workers: () => number,
    private readonly timeoutMs: number,
    private readonly onStats: () => void = () => undefined,
  ) {
    this.channel = new BroadcastChannel(name);
    this.channel.unref();
    this.channel.onmessage = (event) => {
      const message = (event as { data: ChannelMessage }).data;
      if (message.type === 'stats') {
        this.reports.set(message.thread, { stats: message.stats, gauges: message.gauges });
        this.onStats();
      } else if (message.type === 'open-chunk') this.answer(message.request, message.chunk);
    };
  }

  private answer(request: number, chunk: { chunkStart: number; data: Uint8Array } | null): void {
    const pending = this.pending.get(request);
    if (!pending) return;
    pending.answers++;
    if (chunk || pending.answers >= this.workers()) {
      clearTimeout(pending.timer);
      this.pending.delete(request);
      pending.resolve(chunk);
    }
  }

  /** The open chunk of a series, or null when no worker holds one (or none answered in time: counted). */
  openChunk(id: bigint, step: number): Promise<{ chunkStart: number; data: Uint8Array } | null> {
    const request = ++this.nextRequest;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(request);
        this.timeouts++;
        resolve(null);
      }, this.timeoutMs);
      this.pending.set(request, { answers: 0, resolve, timer });
      this.channel.postMessage({ type: 'open-chunk?', request, id, step } satisfies ChannelMessage);
    });
  }

  close(): void {
    for (const pending of this.pending.values()) {
      clearTimeout(pending.timer);
      pending.resolve(null);
    }
    this.pending.clear();
    this.channel.close();
  }
}
