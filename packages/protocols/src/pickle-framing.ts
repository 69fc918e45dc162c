/**
 * Carbon's pickle stream: each frame is a 4-byte big-endian payload length, then a pickle (pickle.ts). The framer
 * holds at most one frame (up to maxFrameBytes); a longer one is skipped as it streams by without being buffered,
 * and refused, so one bad frame costs nothing else on the connection. Each point of a good frame is handed on as
 * the Graphite plaintext line `path value timestamp`, so the relay routes it and the node parses it exactly as a
 * plaintext line (one parser, one set of counters for both protocols).
 */
import type { LineHandler } from './lines.js';
import { parsePickleFrame, type PickleLimits, type PicklePoint, type PickleRejectReason } from './pickle.js';

/** Why a frame was refused: the pickle's own reasons, a length past the limit, or a stream cut inside a frame. */
export type PickleFrameRejectReason = PickleRejectReason | 'frame_too_large' | 'truncated_frame';

export const PICKLE_FRAME_REJECT_REASONS: readonly PickleFrameRejectReason[] = [
  'unsafe_opcode',
  'malformed_pickle',
  'not_a_metric_list',
  'too_many_items',
  'frame_too_large',
  'truncated_frame',
];

export interface PickleFramingLimits extends PickleLimits {
  /** Longest accepted payload; carbon's receiver takes at most 1 MiB. */
  maxFrameBytes: number;
}

export const DEFAULT_PICKLE_LIMITS: PickleFramingLimits = { maxFrameBytes: 1 << 20, maxItems: 100_000 };

const HEADER = 4;

export class PickleFramer {
  private readonly header = Buffer.alloc(HEADER);
  private headerFill = 0;
  /** The frame being collected, or null between frames. */
  private frame: Buffer | null = null;
  private frameFill = 0;
  /** Bytes of a refused, over-long frame still to skip. */
  private skipping = 0;

  constructor(
    private readonly limits: PickleFramingLimits,
    private readonly onLine: LineHandler,
    private readonly onReject: (reason: PickleFrameRejectReason) => void,
  ) {}

  /** Feeds the next bytes of the stream. */
  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.skipping > 0) {
        const skipped = Math.min(this.skipping, chunk.length - at);
        this.skipping -= skipped;
        at += skipped;
      } else if (this.frame === null) {
        const taken = Math.min(HEADER - this.headerFill, chunk.length - at);
        chunk.copy(this.header, this.headerFill, at, at + taken);
        this.headerFill += taken;
        at += taken;
        if (this.headerFill === HEADER) this.startFrame(this.header.readUInt32BE(0));
      } else {
        const taken = Math.min(this.frame.length - this.frameFill, chunk.length - at);
        chunk.copy(this.frame, this.frameFill, at, at + taken);
        this.frameFill += taken;
        at += taken;
        if (this.frameFill === this.frame.length) this.finishFrame();
      }
    }
  }

  /** The stream ended: a frame cut short is refused (its sender must resend it). */
  end(): void {
    if (this.frame !== null || this.headerFill > 0 || this.skipping > 0) this.onReject('truncated_frame');
    this.frame = null;
    this.headerFill = 0;
    this.skipping = 0;
  }

  private startFrame(length: number): void {
    this.headerFill = 0;
    if (length > this.limits.maxFrameBytes) {
      this.onReject('frame_too_large');
      this.skipping = length;
      return;
    }
    this.frame = Buffer.allocUnsafe(length);
    this.frameFill = 0;
    if (length === 0) this.finishFrame();
  }

  private finishFrame(): void {
    const frame = this.frame!;
    this.frame = null;
    const points = parsePickleFrame(frame, this.limits);
    if (typeof points === 'string') {
      this.onReject(points);
      return;
    }
    for (const point of points) {
      const line = Buffer.from(plaintextLine(point), 'utf8');
      this.onLine(line, 0, line.length);
    }
  }
}

/**
 * The plaintext line of a pickled point. Whitespace and control characters in the path become U+0001, which no
 * Graphite path may hold: the line is then refused as invalid_path by the one Graphite parser, instead of a space
 * or newline splitting it into other fields or lines.
 */
export function plaintextLine(point: PicklePoint): string {
  // eslint-disable-next-line no-control-regex
  const path = point.path.replace(/[\s\x00-\x1f\x7f]/g, '\u0001');
  return `${path} ${String(point.value)} ${String(point.timestamp)}`;
}
