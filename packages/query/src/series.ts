import type { ConsolidationFunction } from './consolidation.js';

/**
 * One series as graphite-web's TimeSeries holds it: `values[i]` is the window starting at `start + i * step`, `end`
 * is exclusive; `valuesPerPoint` > 1 means it is read consolidated by `consolidationFunc` (normalize sets it
 * when series of different steps are combined; the JSON renderer sets it for maxDataPoints).
 */
export interface Series {
  name: string;
  tags: Record<string, string>;
  start: number;
  end: number;
  step: number;
  values: (number | null)[];
  consolidationFunc: ConsolidationFunction;
  valuesPerPoint: number;
  xFilesFactor: number;
  /** The path expression (or seriesByTag call) the series was fetched by; names of combined series use it. */
  pathExpression: string;
}

/**
 * The tags graphite-web gives a new series: parsed from the name (`path;tag=value;...`) unless the name looks like
 * a function call (`^[a-z]+[(].+[)]$`, case-insensitive) or does not parse; then just `name`.
 */
export function tagsFromName(name: string): Record<string, string> {
  if (/^[a-z]+[(].+[)]$/is.test(name)) return { name };
  return parseCarbonTags(name) ?? { name };
}

/** TaggedSeries.parse_carbon: `undefined` where graphite-web raises (and falls back to `{name}`). */
function parseCarbonTags(path: string): Record<string, string> | undefined {
  const segments = path.split(';');
  const metric = segments[0]!;
  if (metric.length === 0) return undefined;
  const tags: Record<string, string> = {};
  for (const segment of segments.slice(1)) {
    const eq = segment.indexOf('=');
    if (eq <= 0) return undefined;
    const tag = segment.slice(0, eq);
    const value = segment.slice(eq + 1);
    if (value.length === 0 || /[;!^=]/.test(tag) || value.startsWith('~')) return undefined;
    tags[tag] = value;
  }
  const sanitized = metric.replace(/^~+/, '');
  if (sanitized.length === 0) return undefined;
  tags.name = sanitized;
  return tags;
}

export interface NewSeries {
  name: string;
  start: number;
  end: number;
  step: number;
  values: (number | null)[];
  tags?: Record<string, string>;
  consolidationFunc?: ConsolidationFunction;
  xFilesFactor: number;
  pathExpression?: string;
}

/** graphite-web's TimeSeries(...) constructor. */
export function makeSeries(s: NewSeries): Series {
  return {
    name: s.name,
    tags: s.tags ? { ...s.tags } : tagsFromName(s.name),
    start: s.start,
    end: s.end,
    step: s.step,
    values: s.values,
    consolidationFunc: s.consolidationFunc ?? 'average',
    valuesPerPoint: 1,
    xFilesFactor: s.xFilesFactor,
    pathExpression: s.pathExpression ?? s.name,
  };
}

/** TimeSeries.copy: same tags, consolidation and xFilesFactor unless given; valuesPerPoint back to 1. */
export function copySeries(s: Series, changes: Partial<NewSeries> = {}): Series {
  return {
    name: changes.name ?? s.name,
    tags: { ...(changes.tags ?? s.tags) },
    start: changes.start ?? s.start,
    end: changes.end ?? s.end,
    step: changes.step ?? s.step,
    values: changes.values ?? [...s.values],
    consolidationFunc: changes.consolidationFunc ?? s.consolidationFunc,
    valuesPerPoint: 1,
    xFilesFactor: changes.xFilesFactor ?? s.xFilesFactor,
    // copy() in graphite-web makes a new TimeSeries whose pathExpression is its name
    pathExpression: changes.name ?? s.name,
  };
}

export function toFloat64(values: readonly (number | null)[]): Float64Array {
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    out[i] = v === null || v === undefined ? NaN : v;
  }
  return out;
}

export function fromFloat64(values: Float64Array): (number | null)[] {
  const out = new Array<number | null>(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    out[i] = Number.isNaN(v) ? null : v;
  }
  return out;
}

/**
 * Series whose `values` are still the Float64Array they were read as (NaN for None; never written to): boxed into
 * a list only when a function reads `values`, so the functions that have a Float64Array path (combining, the JSON
 * answer) spare a boxed number per value and its garbage. Reading or assigning `values` drops the entry.
 */
const unboxed = new WeakMap<Series, Float64Array>();

/** The Float64Array `s.values` would be boxed from, while it has not been. */
export function float64Of(s: Series): Float64Array | undefined {
  return unboxed.get(s);
}

function setValues(s: Series, values: (number | null)[]): void {
  unboxed.delete(s);
  Object.defineProperty(s, 'values', { value: values, writable: true, enumerable: true, configurable: true });
}

/**
 * The `values` accessor of an unboxed series: one getter and setter for all of them (a closure per series gave
 * each its own hidden class, which made creating, copying and reading series several times slower).
 */
const UNBOXED_VALUES: PropertyDescriptor = {
  enumerable: true,
  configurable: true,
  get(this: Series): (number | null)[] {
    const boxed = fromFloat64(unboxed.get(this)!);
    setValues(this, boxed);
    return boxed;
  },
  set(this: Series, v: (number | null)[]) {
    setValues(this, v);
  },
};

/** A series of `fields` whose values are `values` (NaN for None), boxed on first use. */
export function seriesOfFloat64(fields: Omit<Series, 'values'>, values: Float64Array): Series {
  const s = { ...fields } as Series;
  unboxed.set(s, values);
  Object.defineProperty(s, 'values', UNBOXED_VALUES);
  return s;
}

/** The own properties of `s` but `values`, read without boxing them. */
function fieldsOf(s: Series): Omit<Series, 'values'> {
  const fields: Record<string, unknown> = {};
  for (const key of Object.keys(s)) if (key !== 'values') fields[key] = (s as unknown as Record<string, unknown>)[key];
  return fields as unknown as Omit<Series, 'values'>;
}

/** `{ ...s }` that keeps values unboxed (a spread would box them). */
export function shallowCopy(s: Series): Series {
  const values = unboxed.get(s);
  return values ? seriesOfFloat64(fieldsOf(s), values) : { ...s };
}

/** How many values `s` holds, without boxing them. */
export function valuesLength(s: Series): number {
  return (unboxed.get(s) ?? s.values).length;
}

/** A shallow copy of `s` without its first `from` values, unboxed when `s` is. */
export function dropValues(s: Series, from: number): Series {
  const values = unboxed.get(s);
  if (!values) return { ...s, values: s.values.slice(from) };
  return seriesOfFloat64(fieldsOf(s), values.subarray(from));
}

/** `{ ...s, ...changes }` that keeps values unboxed (what the functions that only rename or restyle use). */
export function withFields(s: Series, changes: Partial<Omit<Series, 'values'>>): Series {
  return Object.assign(shallowCopy(s), changes);
}
