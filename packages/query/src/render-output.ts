/** The render answers graphite-web's views make from a list of series: json (and jsonp), csv, raw, pickle, msgpack. */
import { consolidatedValues, consolidateForMaxDataPoints, datapointsOf } from './consolidation.js';
import { pyFloat } from './functions/python-format.js';
import type { Series } from './series.js';
import { encodeMsgpack, encodePickle, WireFloat, WireInt, type WireValue } from './wire-encoding.js';

export interface RenderBody {
  contentType: string;
  body: string | Buffer;
}

export interface JsonOptions {
  maxDataPoints?: number;
  noNullPoints: boolean;
  jsonp?: string;
}

/** renderViewJson: maxDataPoints consolidation over the answer's whole time range, then datapoints. */
export function jsonBody(series: readonly Series[], options: JsonOptions): RenderBody {
  const out: object[] = [];
  // graphite-web's `if any(data)`: a series is a list, so when every one has no values the answer is []
  if (series.some((s) => s.values.length > 0)) {
    const startTime = Math.min(...series.map((s) => s.start));
    const endTime = Math.max(...series.map((s) => s.end));
    for (const original of series) {
      const s =
        options.maxDataPoints === undefined
          ? original
          : consolidateForMaxDataPoints(original, endTime - startTime, options.maxDataPoints);
      let datapoints = datapointsOf(s);
      if (options.noNullPoints) {
        datapoints = datapoints.filter(([v]) => v !== null && !Number.isNaN(v));
        if (datapoints.length === 0) continue;
      }
      out.push({ target: s.name, tags: s.tags, datapoints });
    }
  }
  const json = graphiteJson(out);
  if (options.jsonp !== undefined) return { contentType: 'text/javascript', body: `${options.jsonp}(${json})` };
  return { contentType: 'application/json', body: json };
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
