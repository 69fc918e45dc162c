/**
 * The Graphite whisper file format, byte for byte as graphite-project/whisper's whisper.py reads and writes it.
 *
 * Layout (all big-endian):
 *   metadata   aggregationType u32, maxRetention u32, xFilesFactor f32, archiveCount u32   (16 bytes)
 *   archive i  offset u32, secondsPerPoint u32, points u32                                  (12 bytes each)
 *   data       each archive is a ring of `points` points: timestamp u32, value f64          (12 bytes each)
 *
 * A ring has no head pointer: the point stored at the archive's first slot (the "base point") fixes where every
 * other interval lives, `offset + ((interval - base) / step * 12) mod size`. A slot whose timestamp is not the
 * interval asked for holds nothing for it (an older lap of the ring, or zeros in a fresh file).
 */
import type { AggregationMethod } from '@carillon/core';
import { poolFileSystem, type FileSystem, type RandomAccessFile, type WhisperFile } from './fd-file.js';

export const METADATA_SIZE = 16;
export const ARCHIVE_INFO_SIZE = 12;
export const POINT_SIZE = 12;

/** Whisper's aggregation type codes. Codes 6-8 (avg_zero, absmax, absmin) exist in whisper; we read them by name. */
const TYPE_TO_METHOD: Readonly<Record<number, WhisperAggregation>> = {
  1: 'average',
  2: 'sum',
  3: 'last',
  4: 'max',
  5: 'min',
  6: 'avg_zero',
  7: 'absmax',
  8: 'absmin',
};

/** Every method a whisper file may name; we only ever create files with the core methods. */
export type WhisperAggregation = AggregationMethod | 'avg_zero' | 'absmax' | 'absmin';

export function aggregationTypeOf(method: WhisperAggregation): number {
  for (const [code, name] of Object.entries(TYPE_TO_METHOD)) if (name === method) return Number(code);
  throw new Error(`unknown whisper aggregation method ${method}`);
}

export interface ArchiveSpec {
  secondsPerPoint: number;
  points: number;
}

export interface ArchiveInfo extends ArchiveSpec {
  /** Byte offset of the archive's first slot. */
  offset: number;
  /** secondsPerPoint * points */
  retention: number;
  /** points * 12 */
  size: number;
}

export interface WhisperHeader {
  aggregationMethod: WhisperAggregation;
  maxRetention: number;
  /** Stored as a 32-bit float, so 0.1 reads back as 0.10000000149011612, as in whisper. */
  xFilesFactor: number;
  archives: ArchiveInfo[];
}

/** The file is not a whisper file or its header is damaged; mirrors whisper's CorruptWhisperFile. */
export class CorruptWhisperFileError extends Error {
  constructor(
    readonly problem: string,
    readonly path: string,
  ) {
    super(`${problem} (${path})`);
    this.name = 'CorruptWhisperFileError';
  }
}

/** Python's `%`: the result has the sign of the divisor, which the ring arithmetic relies on. */
function floorMod(a: number, n: number): number {
  return ((a % n) + n) % n;
}

/**
 * Checks the archive list the way whisper.validateArchiveList does for what matters to reading: finest first,
 * each step a multiple of the previous one. (Whisper also wants each retention longer than the previous one; we
 * keep whatever retention the resolutions ask for, and whisper reads such files all the same.)
 */
export function validateArchiveSpecs(specs: readonly ArchiveSpec[]): void {
  if (specs.length === 0) throw new Error('a whisper file needs at least one archive');
  specs.forEach((spec, i) => {
    if (!Number.isInteger(spec.secondsPerPoint) || spec.secondsPerPoint <= 0)
      throw new Error(`archive ${i}: secondsPerPoint must be a positive integer`);
    if (!Number.isInteger(spec.points) || spec.points <= 0)
      throw new Error(`archive ${i}: points must be a positive integer`);
    const previous = specs[i - 1];
    if (
      previous &&
      (spec.secondsPerPoint <= previous.secondsPerPoint || spec.secondsPerPoint % previous.secondsPerPoint)
    )
      throw new Error(`archive ${i}: secondsPerPoint must be a larger multiple of the previous archive's`);
  });
}

/** The header of a new file with `specs` laid out back to back after it, as whisper.create does. */
export function layoutHeader(
  specs: readonly ArchiveSpec[],
  aggregationMethod: WhisperAggregation,
  xFilesFactor: number,
): WhisperHeader {
  validateArchiveSpecs(specs);
  if (!(xFilesFactor >= 0 && xFilesFactor <= 1)) throw new Error('xFilesFactor must be between 0 and 1');
  let offset = METADATA_SIZE + ARCHIVE_INFO_SIZE * specs.length;
  const archives = specs.map(({ secondsPerPoint, points }): ArchiveInfo => {
    const archive = {
      offset,
      secondsPerPoint,
      points,
      retention: secondsPerPoint * points,
      size: points * POINT_SIZE,
    };
    offset += archive.size;
    return archive;
  });
  return {
    aggregationMethod,
    maxRetention: Math.max(...archives.map((a) => a.retention)),
    xFilesFactor: Math.fround(xFilesFactor),
    archives,
  };
}

export function encodeHeader(header: WhisperHeader): Buffer {
  const buffer = Buffer.alloc(METADATA_SIZE + ARCHIVE_INFO_SIZE * header.archives.length);
  buffer.writeUInt32BE(aggregationTypeOf(header.aggregationMethod), 0);
  buffer.writeUInt32BE(header.maxRetention, 4);
  buffer.writeFloatBE(header.xFilesFactor, 8);
  buffer.writeUInt32BE(header.archives.length, 12);
  header.archives.forEach((archive, i) => {
    const o = METADATA_SIZE + i * ARCHIVE_INFO_SIZE;
    buffer.writeUInt32BE(archive.offset, o);
    buffer.writeUInt32BE(archive.secondsPerPoint, o + 4);
    buffer.writeUInt32BE(archive.points, o + 8);
  });
  return buffer;
}

/** Total file size: the end of the last archive. */
export function fileSizeOf(header: WhisperHeader): number {
  const last = header.archives[header.archives.length - 1]!;
  return last.offset + last.size;
}

/** Where a file is built before it appears at its final path; a crash can leave one behind (see isCreationTemp). */
export function creationTempPath(path: string): string {
  return `${path}${CREATION_TEMP_MARK}${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
}

const CREATION_TEMP_MARK = '.creating-';

/** Whether a file name is a creation temp file (never a series; removed once stale). */
export function isCreationTemp(name: string): boolean {
  return name.includes(CREATION_TEMP_MARK);
}

/**
 * Creates a whisper file at `path` and returns it open for reading and writing. The file appears at `path` only
 * complete: it is built under a temporary name in the same directory, synced, then hard-linked into place (a link,
 * unlike a rename, fails with EEXIST instead of replacing a file another writer created meanwhile), so a crash or a
 * full disk at any step leaves no empty or half-written file at `path`. The data area is left sparse (ftruncate),
 * like `whisper-create --sparse`: a 3 MB file costs no disk until points land in it, and unwritten slots read as
 * zeros, which whisper treats as empty. Fails with EEXIST if the file exists.
 */
export async function createWhisperFile(
  path: string,
  header: WhisperHeader,
  files: FileSystem = poolFileSystem,
): Promise<{ handle: WhisperFile; header: WhisperHeader }> {
  const temp = creationTempPath(path);
  const handle = await files.open(temp, 'wx+');
  try {
    const bytes = encodeHeader(header);
    await handle.write(bytes, 0, bytes.length, 0);
    await handle.truncate(fileSizeOf(header));
    await handle.sync();
    await files.link(temp, path);
    return { handle, header };
  } catch (error) {
    await handle.close().catch(() => undefined);
    throw error;
  } finally {
    await files.unlink(temp).catch(() => undefined);
  }
}

/** Parses a header from the file's first bytes; `null` when `bytes` is too short to hold all of it. */
function parseHeader(bytes: Buffer, path: string): WhisperHeader | null {
  if (bytes.length < METADATA_SIZE) throw new CorruptWhisperFileError('Unable to read header', path);
  const aggregationType = bytes.readUInt32BE(0);
  const maxRetention = bytes.readUInt32BE(4);
  const xFilesFactor = bytes.readFloatBE(8);
  const archiveCount = bytes.readUInt32BE(12);
  const aggregationMethod = TYPE_TO_METHOD[aggregationType];
  if (!aggregationMethod || !(xFilesFactor >= 0 && xFilesFactor <= 1))
    throw new CorruptWhisperFileError('Unable to read header', path);
  if (bytes.length < METADATA_SIZE + archiveCount * ARCHIVE_INFO_SIZE) return null;
  const archives: ArchiveInfo[] = [];
  for (let i = 0; i < archiveCount; i++) {
    const o = METADATA_SIZE + i * ARCHIVE_INFO_SIZE;
    const offset = bytes.readUInt32BE(o);
    const secondsPerPoint = bytes.readUInt32BE(o + 4);
    const points = bytes.readUInt32BE(o + 8);
    if (secondsPerPoint === 0 || points === 0)
      throw new CorruptWhisperFileError(`Unable to read archive${i} metadata`, path);
    archives.push({
      offset,
      secondsPerPoint,
      points,
      retention: secondsPerPoint * points,
      size: points * POINT_SIZE,
    });
  }
  return { aggregationMethod, maxRetention, xFilesFactor, archives };
}

/**
 * Reads and checks the header, as whisper's __readHeader. `bases`, when given, gets the base interval of every
 * archive whose first slot the same read covered (the first archive of a file with up to 16 archives), so a write
 * there needs no read of its own.
 */
export async function readHeader(
  handle: RandomAccessFile,
  path = '<file>',
  bases?: Map<number, number>,
): Promise<WhisperHeader> {
  // One read covers the header of any file with up to 20 archives; more archives cost a second read.
  let length = METADATA_SIZE + 20 * ARCHIVE_INFO_SIZE;
  for (;;) {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, 0);
    const header = parseHeader(buffer.subarray(0, bytesRead), path);
    if (header) {
      for (const archive of header.archives) {
        // 0: never written; the write that starts the ring reads it again.
        const base = archive.offset + 4 <= bytesRead ? buffer.readUInt32BE(archive.offset) : 0;
        if (bases && base !== 0) bases.set(archive.offset, base);
      }
      return header;
    }
    if (bytesRead < length) throw new CorruptWhisperFileError('Unable to read archive metadata', path);
    length = METADATA_SIZE + buffer.readUInt32BE(12) * ARCHIVE_INFO_SIZE;
  }
}

/** The timestamp of the archive's base point; 0 means the archive has never been written. */
export async function readBaseInterval(handle: RandomAccessFile, archive: ArchiveInfo): Promise<number> {
  const buffer = Buffer.alloc(4);
  const { bytesRead } = await handle.read(buffer, 0, 4, archive.offset);
  return bytesRead === 4 ? buffer.readUInt32BE(0) : 0;
}

export interface TimedValue {
  /** Epoch seconds; aligned down to the archive's step when written. */
  time: number;
  value: number;
}

/** Byte position of `interval`'s slot in `archive`, given the archive's base interval. */
function slotOffset(archive: ArchiveInfo, baseInterval: number, interval: number): number {
  const pointDistance = Math.floor((interval - baseInterval) / archive.secondsPerPoint);
  return archive.offset + floorMod(pointDistance * POINT_SIZE, archive.size);
}

/**
 * Writes `points` (oldest first) into one archive, as whisper's __archive_update_many: times are aligned down to
 * the step, the last of several points in one interval wins, and each run of consecutive intervals goes out as one
 * write (two where it wraps the ring). Nothing is propagated to other archives. `baseInterval` is the archive's base
 * point if the caller already knows it (it only ever moves by whole laps of the ring, so a cached value stays valid).
 * Returns the base interval now in effect. Callers must reject times ≤ 0 or beyond u32, and keep points within the
 * archive's retention: an older point would overwrite a newer one in the ring, as in whisper.
 */
export async function writeArchivePoints(
  handle: RandomAccessFile,
  archive: ArchiveInfo,
  points: readonly TimedValue[],
  baseInterval?: number,
): Promise<number> {
  const step = archive.secondsPerPoint;
  const runs: { start: number; bytes: Buffer }[] = [];
  let run: { start: number; intervals: number[]; values: number[] } | null = null;
  for (let i = 0; i < points.length; i++) {
    const interval = points[i]!.time - floorMod(points[i]!.time, step);
    const next = points[i + 1];
    if (next && next.time - floorMod(next.time, step) === interval) continue;
    if (run && interval === run.intervals[run.intervals.length - 1]! + step) {
      run.intervals.push(interval);
      run.values.push(points[i]!.value);
    } else {
      if (run) runs.push(packRun(run));
      run = { start: interval, intervals: [interval], values: [points[i]!.value] };
    }
  }
  if (run) runs.push(packRun(run));
  if (runs.length === 0) return baseInterval ?? 0;

  let base = baseInterval || (await readBaseInterval(handle, archive));
  if (base === 0) base = runs[0]!.start; // the file's first update starts the ring at its first point
  const archiveEnd = archive.offset + archive.size;
  for (const { start, bytes } of runs) {
    const position = slotOffset(archive, base, start);
    const beyond = position + bytes.length - archiveEnd;
    if (beyond > 0) {
      await handle.write(bytes, 0, bytes.length - beyond, position);
      await handle.write(bytes, bytes.length - beyond, beyond, archive.offset);
    } else {
      await handle.write(bytes, 0, bytes.length, position);
    }
  }
  return base;
}

function packRun(run: { start: number; intervals: number[]; values: number[] }): { start: number; bytes: Buffer } {
  const bytes = Buffer.allocUnsafe(run.intervals.length * POINT_SIZE);
  run.intervals.forEach((interval, i) => {
    bytes.writeUInt32BE(interval, i * POINT_SIZE);
    bytes.writeDoubleBE(run.values[i]!, i * POINT_SIZE + 4);
  });
  return { start: run.start, bytes };
}

/** Where a read puts its bytes: a buffer of exactly `size` bytes, Buffer.allocUnsafe unless a reader reuses one. */
export type ReadBuffer = (size: number) => Buffer;

/**
 * The bytes holding the `count` consecutive slots from `firstInterval`'s: slot k (k < `slots`) at byte
 * (`start` + k × 12) modulo the bytes' length. At most one lap of the ring, in at most two reads; undefined when
 * the archive has never been written (base interval 0). Without the base interval, a read of half the ring or
 * more reads the whole ring at once (base and slots in one read).
 */
async function readArchiveSlots(
  handle: RandomAccessFile,
  archive: ArchiveInfo,
  firstInterval: number,
  count: number,
  baseInterval: number | undefined,
  buffer: ReadBuffer = Buffer.allocUnsafe,
): Promise<{ bytes: Buffer; start: number; slots: number } | undefined> {
  const slots = Math.min(count, archive.points);
  if (!baseInterval && slots * 2 >= archive.points) {
    const ring = buffer(archive.size);
    await readFully(handle, ring, 0, ring.length, archive.offset);
    const base = ring.readUInt32BE(0);
    if (base === 0) return undefined;
    return { bytes: ring, start: slotOffset(archive, base, firstInterval) - archive.offset, slots };
  }
  const base = baseInterval || (await readBaseInterval(handle, archive));
  if (base === 0) return undefined;
  const bytes = buffer(slots * POINT_SIZE);
  const position = slotOffset(archive, base, firstInterval);
  const archiveEnd = archive.offset + archive.size;
  const firstPart = Math.min(bytes.length, archiveEnd - position);
  await readFully(handle, bytes, 0, firstPart, position);
  if (firstPart < bytes.length) await readFully(handle, bytes, firstPart, bytes.length - firstPart, archive.offset);
  return { bytes, start: 0, slots };
}

/**
 * Values of the `count` consecutive intervals starting at `firstInterval` (aligned to the step): `null` where the
 * slot holds another interval or nothing. Reads at most one lap of the ring, in at most two reads.
 */
export async function readArchiveIntervals(
  handle: RandomAccessFile,
  archive: ArchiveInfo,
  firstInterval: number,
  count: number,
  baseInterval?: number,
): Promise<(number | null)[]> {
  const values = new Array<number | null>(Math.max(0, count)).fill(null);
  if (count <= 0) return values;
  const read = await readArchiveSlots(handle, archive, firstInterval, count, baseInterval);
  if (!read) return values;
  const { bytes, start, slots } = read;
  const step = archive.secondsPerPoint;
  for (let i = 0; i < count; i++) {
    // Past one lap, slot i shares its position with slot i - points; at most one of them can match.
    const o = (start + (i % slots) * POINT_SIZE) % bytes.length;
    if (bytes.readUInt32BE(o) === firstInterval + i * step) values[i] = bytes.readDoubleBE(o + 4);
  }
  return values;
}

/**
 * readArchiveIntervals as a Float64Array, NaN where it has `null` and where the stored value is not finite (what a
 * render reads as None): no boxed number per point, and a DataView rather than Buffer's byte-swapping reads.
 * `buffer` may hand out the same bytes to every read: they are decoded before this returns. `into`, when of
 * `count` values, is filled and returned instead of a new array.
 */
export async function readArchiveFloat64(
  handle: RandomAccessFile,
  archive: ArchiveInfo,
  firstInterval: number,
  count: number,
  baseInterval?: number,
  buffer?: ReadBuffer,
  into?: Float64Array,
): Promise<Float64Array> {
  if (count <= 0) return new Float64Array(0);
  const values = into?.length === count ? into : new Float64Array(count);
  const read = await readArchiveSlots(handle, archive, firstInterval, count, baseInterval, buffer);
  if (!read) return values.fill(NaN);
  return decodeFloat64(read.bytes, read.start, read.slots, count, firstInterval, archive.secondsPerPoint, values);
}

/**
 * readArchiveFloat64's decoding, in functions of their own (a loop in an async function is left unoptimized): slot
 * k (k < `slots`) at byte `start` + k × 12, wrapping at the end of the bytes; past one lap, from `start` again.
 * Each stretch without a wrap is one plain loop, a quarter faster than checking for the wrap at every slot.
 */
function decodeFloat64(
  bytes: Buffer,
  start: number,
  slots: number,
  count: number,
  firstInterval: number,
  step: number,
  values: Float64Array,
): Float64Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = bytes.length;
  let i = 0;
  while (i < count) {
    let o = start;
    let lapLeft = Math.min(slots, count - i);
    while (lapLeft > 0) {
      const run = Math.min(lapLeft, (length - o) / POINT_SIZE);
      decodeRun(view, values, o, i, run, firstInterval + i * step, step);
      i += run;
      lapLeft -= run;
      o += run * POINT_SIZE;
      if (o >= length) o -= length;
    }
  }
  return values;
}

/** `run` consecutive slots from byte `o` into values[i...]: NaN where the slot holds another interval. */
function decodeRun(
  view: DataView,
  values: Float64Array,
  o: number,
  i: number,
  run: number,
  interval: number,
  step: number,
): void {
  for (const end = i + run; i < end; i++, o += POINT_SIZE, interval += step) {
    const v = view.getUint32(o) === interval ? view.getFloat64(o + 4) : NaN;
    // v - v is NaN for NaN and the infinities: finite values only
    values[i] = v - v === 0 ? v : NaN;
  }
}

async function readFully(handle: RandomAccessFile, buffer: Buffer, offset: number, length: number, position: number) {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(buffer, offset + done, length - done, position + done);
    if (bytesRead === 0) {
      // past the end of a truncated file: the rest reads as zero, i.e. empty
      buffer.fill(0, offset + done, offset + length);
      return;
    }
    done += bytesRead;
  }
}

/** What whisper.fetch returns: `values[i]` is the interval `fromInterval + i * step`. */
export interface WhisperFetchResult {
  fromInterval: number;
  untilInterval: number;
  step: number;
  values: (number | null)[];
}

/**
 * Reads one archive exactly as whisper's __archive_fetch: the first interval is the one after `fromTime`'s
 * (`from - from % step + step`), the last the one holding `untilTime`, a zero-length range still gets one point, and
 * the number of points is what whisper's ring offsets give (a range longer than the ring wraps, as in whisper).
 */
export async function fetchArchive(
  handle: RandomAccessFile,
  archive: ArchiveInfo,
  fromTime: number,
  untilTime: number,
): Promise<WhisperFetchResult> {
  const step = archive.secondsPerPoint;
  const fromInterval = fromTime - floorMod(fromTime, step) + step;
  let untilInterval = untilTime - floorMod(untilTime, step) + step;
  if (fromInterval === untilInterval) untilInterval += step;
  const base = await readBaseInterval(handle, archive);
  if (base === 0) {
    const count = Math.floor((untilInterval - fromInterval) / step);
    return { fromInterval, untilInterval, step, values: new Array<null>(Math.max(0, count)).fill(null) };
  }
  const fromOffset = slotOffset(archive, base, fromInterval);
  const untilOffset = slotOffset(archive, base, untilInterval);
  const bytes = fromOffset < untilOffset ? untilOffset - fromOffset : archive.size - (fromOffset - untilOffset);
  const values = await readArchiveIntervals(handle, archive, fromInterval, bytes / POINT_SIZE, base);
  return { fromInterval, untilInterval, step, values };
}

/**
 * whisper.file_fetch: clips the range to the file's retention relative to `now`, picks the first archive whose
 * retention covers `now - from` (or the archive with `secondsPerPoint` when given), and reads it. Returns `null`
 * where whisper returns None (range entirely in the future or beyond retention).
 */
export async function fetchWhisper(
  handle: RandomAccessFile,
  header: WhisperHeader,
  fromTime: number,
  untilTime: number,
  now: number,
  secondsPerPoint?: number,
): Promise<WhisperFetchResult | null> {
  fromTime = Math.trunc(fromTime);
  untilTime = Math.trunc(untilTime);
  if (fromTime > untilTime) throw new RangeError(`Invalid time interval: from ${fromTime} is after until ${untilTime}`);
  const oldestTime = now - header.maxRetention;
  if (fromTime > now || untilTime < oldestTime) return null;
  if (fromTime < oldestTime) fromTime = oldestTime;
  if (untilTime > now) untilTime = now;
  const diff = now - fromTime;
  let archive: ArchiveInfo | undefined;
  if (secondsPerPoint !== undefined) {
    archive = header.archives.find((a) => a.secondsPerPoint === secondsPerPoint);
    if (!archive) throw new RangeError(`Invalid granularity: ${secondsPerPoint}`);
  } else {
    // Like whisper's loop: the first archive that covers `diff`, else the last one.
    archive = header.archives.find((a) => a.retention >= diff) ?? header.archives[header.archives.length - 1]!;
  }
  return fetchArchive(handle, archive, fromTime, untilTime);
}
