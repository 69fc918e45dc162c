/** The render answers graphite-web's views make from a list of series: json (and jsonp), csv, raw, pickle, msgpack. */
import { consolidatedFloat64, consolidatedValues, consolidateForMaxDataPoints } from './consolidation.js';
import { pyFloat } from './functions/python-format.js';
import { JsonBytes } from './json-bytes.js';
import { float64Of, valuesLength, type Series } from './series.js';
import { encodeMsgpack, encodePickle, WireFloat, WireInt, type WireValue } from './wire-encoding.js';

export interface RenderBody {
  contentType: string;
  /** Pieces: an answer joined from the parts of a split render, written one after another, never copied into one. */
  body: string | Buffer | readonly Buffer[];
  /** The body's ArrayBuffer holds nothing else (not a slice of Buffer's shared pool), so it may be transferred. */
  ownsBuffer?: boolean;
}

export interface JsonOptions {
  maxDataPoints?: number;
  noNullPoints: boolean;
  jsonp?: string;
  /** The whole answer's shape, where these series are one part of it (a render split over workers). */
  shape?: AnswerShape;
}

/**
 * What the JSON encoding of each series depends on beyond that series: the answer's time range (maxDataPoints
 * consolidates over it) and whether any series has values (else the answer is []).
 */
export interface AnswerShape {
  start: number;
  end: number;
  anyValues: boolean;
}

export function answerShape(series: readonly Series[]): AnswerShape {
  let start = Infinity;
  let end = -Infinity;
  let anyValues = false;
  for (const s of series) {
    start = Math.min(start, s.start);
    end = Math.max(end, s.end);
    anyValues ||= valuesLength(s) > 0;
  }
  return { start, end, anyValues };
}

/**
 * renderViewJson: maxDataPoints consolidation over the answer's whole time range, then datapoints; written as
 * bytes (JSON.stringify of the same list with graphiteJson's numbers, byte for byte).
 */
export function jsonBody(series: readonly Series[], options: JsonOptions): RenderBody {
  const out = new JsonBytes(expectedJsonBytes(series, options.maxDataPoints));
  if (options.jsonp !== undefined) out.text(`${options.jsonp}(`);
  out.ascii('[');
  const shape = options.shape ?? answerShape(series);
  // graphite-web's `if any(data)`: a series is a list, so when every one has no values the answer is []
  if (shape.anyValues) {
    const { start: startTime, end: endTime } = shape;
    let first = true;
    for (const original of series) {
      const s =
        options.maxDataPoints === undefined
          ? original
          : consolidateForMaxDataPoints(original, endTime - startTime, options.maxDataPoints);
      if (options.noNullPoints && !hasPoint(s)) continue;
      out.text(`${first ? '' : ','}{"target":${graphiteJson(s.name)},"tags":${graphiteJson(s.tags)},"datapoints":`);
      writeDatapoints(out, s, options.noNullPoints);
      out.ascii('}');
      first = false;
    }
  }
  out.ascii(']');
  if (options.jsonp !== undefined) out.ascii(')');
  const contentType = options.jsonp !== undefined ? 'text/javascript' : 'application/json';
  return { contentType: `${contentType}; charset=utf-8`, body: out.result(), ownsBuffer: true };
}

/** About what the answer takes: a point is `[v,t],` with a value of up to 17 digits and a ten-digit time. */
function expectedJsonBytes(series: readonly Series[], maxDataPoints: number | undefined): number {
  let bytes = 0;
  for (const s of series) {
    const points = valuesLength(s) / Math.max(s.valuesPerPoint, 1);
    bytes += 200 + 32 * (maxDataPoints === undefined ? points : Math.min(points, maxDataPoints + 1));
  }
  return bytes;
}

/** The values datapointsOf zips with times: NaN (or null) for None. */
function pointValues(s: Series): Float64Array | readonly (number | null)[] {
  return float64Of(s) ? consolidatedFloat64(s) : consolidatedValues(s);
}

function pointCount(s: Series, values: { length: number }): number {
  const stride = s.step * Math.max(s.valuesPerPoint, 1);
  // the loop's count in closed form where its sums are exact (integer times and steps)
  if (stride > 0 && Number.isSafeInteger(s.start) && Number.isSafeInteger(s.end) && Number.isSafeInteger(stride))
    return Math.min(values.length, Math.max(0, Math.ceil((s.end + 1 - s.start) / stride)));
  let n = 0;
  for (let t = s.start; n < values.length && t < s.end + 1; n++, t += stride);
  return n;
}

/** Whether noNullPoints keeps a point of `s`. */
function hasPoint(s: Series): boolean {
  const values = pointValues(s);
  const n = pointCount(s, values);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    // as graphite-web's filter (and JSON.stringify of a hole, written null but kept)
    if (v === undefined || (v !== null && !Number.isNaN(v))) return true;
  }
  return false;
}

/** graphiteJson(datapointsOf(s)), without a [value, time] pair per point; noNullPoints leaves out the empty ones. */
function writeDatapoints(out: JsonBytes, s: Series, noNullPoints: boolean): void {
  const values = pointValues(s);
  const stride = s.step * Math.max(s.valuesPerPoint, 1);
  if (values instanceof Float64Array && Number.isFinite(s.start + stride)) {
    const n = pointCount(s, values);
    if (!hasInfinity(values, n)) return out.finiteDatapoints(values, n, s.start, stride, noNullPoints);
  }
  out.ascii('[');
  let written = 0;
  for (let i = 0, t = s.start; i < values.length && t < s.end + 1; i++, t += stride) {
    const v = values[i];
    if (noNullPoints && (v === null || (v !== undefined && Number.isNaN(v)))) continue;
    out.ascii(written === 0 ? '[' : ',[');
    if (v === null || v === undefined) out.ascii('null');
    else out.number(v);
    out.ascii(',');
    out.time(s.start, stride, i);
    out.ascii(']');
    written++;
  }
  out.ascii(']');
}

/** Whether one of the first `n` values is infinite (JSON.stringify would write it null, graphite-web ±1e9999). */
function hasInfinity(values: Float64Array, n: number): boolean {
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (v === Infinity || v === -Infinity) return true;
  }
  return false;
}

/**
 * JSON as graphite-web writes it: NaN as null, infinities as 1e9999 and -1e9999 (valid JSON that every parser
 * reads back as Infinity), where JSON.stringify would write null.
 */
export function graphiteJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    typeof v === 'number' && !Number.isFinite(v) ? (Number.isNaN(v) ? null : `__inf${v > 0 ? '+' : '-'}__`) : v,
  )
    .replace(/"__inf\+__"/g, '1e9999')
    .replace(/"__inf-__"/g, '-1e9999');
}

/** Python's repr() of a value from a series: floats as Python writes them, None. */
function pyValue(v: number | null): string {
  return v === null ? 'None' : pyFloat(v);
}

/** renderViewRaw: `name,start,end,step|v1,v2,...` per series. */
export function rawBody(series: readonly Series[]): RenderBody {
  const lines = series.map(
    (s) => `${s.name},${s.start},${s.end},${s.step}|${consolidatedValues(s).map(pyValue).join(',')}\n`,
  );
  return { contentType: 'text/plain', body: lines.join('') };
}

function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** renderViewCsv: one `name,YYYY-MM-DD HH:MM:SS,value` row per value (UTC), excel dialect. */
export function csvBody(series: readonly Series[]): RenderBody {
  const lines: string[] = [];
  for (const s of series) {
    const name = csvField(s.name);
    consolidatedValues(s).forEach((v, i) => {
      const time = new Date((s.start + i * s.step) * 1000).toISOString().replace('T', ' ').slice(0, 19);
      lines.push(`${name},${time},${v === null ? '' : pyFloat(v)}\r\n`);
    });
  }
  return { contentType: 'text/csv', body: lines.join('') };
}

/** TimeSeries.getInfo(): what graphite-web's remote finder unpickles. */
function seriesInfo(s: Series): WireValue {
  return {
    name: s.name,
    start: new WireInt(s.start),
    end: new WireInt(s.end),
    step: new WireInt(s.step),
    values: consolidatedValues(s).map((v) => (v === null ? null : new WireFloat(v))),
    pathExpression: s.pathExpression,
    valuesPerPoint: new WireInt(s.valuesPerPoint),
    consolidationFunc: s.consolidationFunc,
    xFilesFactor: new WireFloat(s.xFilesFactor),
  };
}

export function pickleBody(series: readonly Series[]): RenderBody {
  return { contentType: 'application/pickle', body: encodePickle(series.map(seriesInfo)) };
}

export function msgpackBody(series: readonly Series[]): RenderBody {
  return { contentType: 'application/x-msgpack', body: encodeMsgpack(series.map(seriesInfo)) };
}
