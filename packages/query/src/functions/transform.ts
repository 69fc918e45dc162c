/** graphite-web's Transform group: functions that change each series' values on their own. */
import { consolidatedValues } from '../consolidation.js';
import { QueryError } from '../errors.js';
import type { RenderContext } from '../render-context.js';
import { parseTimeSpec } from '../time-spec.js';
import { copySeries, makeSeries, type Series } from '../series.js';
import { evaluateTarget } from './evaluate.js';
import { parseInterval, xff } from './common.js';
import { pyG, pyRound, pyStr } from './python-format.js';
import type { Args, ParamSpec, RenderFunction } from './registry.js';
import { AGG_FUNC_NAMES, getAggFunc, safeAbs, safeMax, safeMin, safeMul, type Value } from './safe.js';

const SERIES_LIST: ParamSpec = { name: 'seriesList', type: 'seriesList', required: true };
const INTERVAL_SUGGESTIONS = ['10min', '1h', '1d'];

/** math.pow as safe.safePow: None where Python raises (negative base to a fraction, 0 to a negative, overflow). */
function safePow(a: Value, b: number): Value {
  if (a === null) return null;
  const result = Math.pow(a, b);
  return Number.isFinite(result) ? result : null;
}

/** A function that rewrites values in place and renames `fn(name)` or `fn(name,arg)`. */
function inPlace(
  name: string,
  params: ParamSpec[],
  description: string,
  apply: (args: Args) => { suffix: string; tag: [string, string]; map: (v: Value) => Value },
): RenderFunction {
  return {
    name,
    group: 'Transform',
    description,
    params,
    run(_context, args) {
      const { suffix, tag, map } = apply(args);
      return args.series('seriesList').map((s) => {
        const newName = `${name}(${s.name}${suffix})`;
        return {
          ...s,
          name: newName,
          pathExpression: newName,
          tags: { ...s.tags, [tag[0]]: tag[1] },
          values: s.values.map(map),
        };
      });
    },
  };
}

/** scale, offset, pow: each datapoint with a constant `factor`, the factor in the name and the tag. */
function withFactor(name: string, description: string, op: (v: Value, factor: number) => Value): RenderFunction {
  return inPlace(name, [SERIES_LIST, { name: 'factor', type: 'float', required: true }], description, (args) => {
    const factor = args.number('factor');
    return {
      suffix: `,${pyG(factor)}`,
      tag: [name, pyStr(factor, args.isInt('factor'))],
      map: (v) => op(v, factor),
    };
  });
}

function nonNegativeDelta(val: Value, prev: Value, maxValue: number | null, minValue: number | null): [Value, Value] {
  if (maxValue !== null && val !== null && val > maxValue) return [null, null];
  if (minValue !== null && val !== null && val < minValue) return [null, null];
  if (prev === null || val === null) return [null, val];
  if (val >= prev) return [val - prev, val];
  if (maxValue !== null) return [maxValue + 1 + val - prev - (minValue ?? 0), val];
  if (minValue !== null) return [val - minValue, val];
  return [null, val];
}

/** Each point's increase over the one before, as nonNegativeDerivative and perSecond count it (counter wraps). */
function nonNegativeDeltas(s: Series, args: Args): Value[] {
  const maxValue = args.optionalNumber('maxValue');
  const minValue = args.optionalNumber('minValue');
  let prev: Value = null;
  return consolidatedValues(s).map((val) => {
    const [delta, next] = nonNegativeDelta(val, prev, maxValue, minValue);
    prev = next;
    return delta;
  });
}

/** A function that makes a copy of each series with new values (graphite-web's series.copy(name=...)). */
function copying(
  name: string,
  params: ParamSpec[],
  description: string,
  transform: (
    s: Series,
    args: Args,
    context: RenderContext,
  ) => { name: string; tag: [string, string]; values: Value[] },
): RenderFunction {
  return {
    name,
    group: 'Transform',
    description,
    params,
    run(context, args) {
      return args.series('seriesList').map((s) => {
        const result = transform(s, args, context);
        return copySeries(
          { ...s, tags: { ...s.tags, [result.tag[0]]: result.tag[1] } },
          { name: result.name, values: result.values },
        );
      });
    },
  };
}

function derivativeValues(values: readonly Value[]): Value[] {
  let prev: Value = null;
  return values.map((val) => {
    const out = prev === null || val === null ? null : val - prev;
    prev = val;
    return out;
  });
}

/** summarize and smartSummarize's _summarizeValues: buckets of `interval` from newStart; returns the end reached. */
function summarizeValues(
  s: Series,
  func: string,
  interval: number,
  newStart = s.start,
  newEnd = s.end,
): [Value[], number] {
  const reduce = getAggFunc(func);
  const datapoints = consolidatedValues(s);
  const timestamps: number[] = [];
  for (let t = s.start; t < s.end; t += s.step) timestamps.push(t);
  const intervalPoints = interval / s.step;
  const numPoints = Math.min(timestamps.length, datapoints.length);
  const values: Value[] = [];
  let i = 0;
  let t = newStart;
  while (t < newEnd) {
    let first = i;
    let nonNull = 0;
    while (i < numPoints && timestamps[i]! < t + interval) {
      if (timestamps[i]! <= t) first = i;
      if (timestamps[i]! >= t && datapoints[i] !== null) nonNull++;
      i++;
    }
    values.push(xff(nonNull, intervalPoints, s.xFilesFactor) ? reduce(datapoints.slice(first, i)) : null);
    t += interval;
  }
  return [values, t];
}

/** graphite-web's getUnitString: the unit a word starts with. */
function unitName(text: string): 'years' | 'months' | 'weeks' | 'days' | 'hours' | 'minutes' | 'seconds' {
  if (text.startsWith('s')) return 'seconds';
  if (text.startsWith('min')) return 'minutes';
  if (text.startsWith('h')) return 'hours';
  if (text.startsWith('d')) return 'days';
  if (text.startsWith('w')) return 'weeks';
  if (text.startsWith('mon')) return 'months';
  if (text.startsWith('y')) return 'years';
  throw new QueryError(`invalid offset unit '${text}'`);
}

function intervalArg(args: Args, param: string): { text: string; seconds: number } {
  const text = args.string(param);
  return { text, seconds: parseInterval(text) };
}

async function timeShift(context: RenderContext, args: Args): Promise<Series[]> {
  let shift = args.string('timeShift');
  if (/^\d/.test(shift)) shift = `-${shift}`;
  const delta = parseInterval(shift);
  const resetEnd = args.boolean('resetEnd', true);
  const list = args.series('seriesList');
  if (list.length < 1) return [];
  const first = list[0]!;
  const shifted = await evaluateTarget(
    args.raw[0]!,
    context.withTimes(context.startTime + delta, context.endTime + delta),
  );
  return shifted.map((s) => ({
    ...s,
    tags: { ...s.tags, timeShift: shift },
    name: `timeShift(${s.name}, "${shift}")`,
    end: resetEnd ? first.end : s.end - s.start + first.start,
    start: first.start,
  }));
}

const MINUTE = 60;
const HOUR = 3600;
const DAY = 86400;

/** The start of the UTC year, month, ISO week (weekday 1-7), day, hour or minute holding `t` (datetime(...)). */
function alignStart(
  t: number,
  unit: 'years' | 'months' | 'weeks' | 'days' | 'hours' | 'minutes' | 'seconds',
  isoWeekday = 1,
): number {
  const d = new Date(t * 1000);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  const day = d.getUTCDate();
  const at = (...parts: [number, number, number, number?, number?]) => Date.UTC(...parts) / 1000;
  switch (unit) {
    case 'years':
      return at(y, 0, 1);
    case 'months':
      return at(y, m, 1);
    case 'weeks': {
      const weekday = d.getUTCDay() === 0 ? 7 : d.getUTCDay();
      let back = weekday - isoWeekday;
      if (back < 0) back += 7;
      return at(y, m, day) - back * DAY;
    }
    case 'days':
      return at(y, m, day);
    case 'hours':
      return at(y, m, day, d.getUTCHours());
    case 'minutes':
      return at(y, m, day, d.getUTCHours(), d.getUTCMinutes());
    case 'seconds':
      return t;
  }
}

async function hitcount(context: RenderContext, args: Args): Promise<Series[]> {
  const { text, seconds: interval } = intervalArg(args, 'intervalString');
  const alignToInterval = args.boolean('alignToInterval', false);
  let list = args.series('seriesList');
  if (alignToInterval) {
    const s = context.startTime;
    const start =
      interval >= DAY
        ? alignStart(s, 'days')
        : interval >= HOUR
          ? alignStart(s, 'hours')
          : interval >= MINUTE
            ? alignStart(s, 'minutes')
            : s;
    list = (await evaluateTarget(args.raw[0]!, context.withTimes(start, context.endTime))).map((series) => ({
      ...series,
      end: series.start + Math.floor((series.end - series.start) / interval) * interval + interval,
    }));
  }
  return list.map((s) => {
    const step = s.step;
    const bucketCount = Math.ceil((s.end - s.start) / interval);
    const buckets: number[][] = Array.from({ length: bucketCount }, () => []);
    const newStart = s.end - bucketCount * interval;
    consolidatedValues(s).forEach((value, i) => {
      if (value === null) return;
      const startTime = s.start + i * step;
      const startBucket = Math.floor((startTime - newStart) / interval);
      const startMod = startTime - newStart - startBucket * interval;
      const endTime = startTime + step;
      let endBucket = Math.floor((endTime - newStart) / interval);
      let endMod = endTime - newStart - endBucket * interval;
      if (endBucket >= bucketCount) {
        endBucket = bucketCount - 1;
        endMod = interval;
      }
      if (startBucket === endBucket) {
        if (startBucket >= 0) buckets[startBucket]!.push(value * (endMod - startMod));
      } else {
        if (startBucket >= 0) buckets[startBucket]!.push(value * (interval - startMod));
        for (let j = startBucket + 1; j < endBucket; j++) buckets[j]!.push(value * interval);
        if (endMod > 0) buckets[endBucket]!.push(value * endMod);
      }
    });
    const values = buckets.map((bucket) => (bucket.length > 0 ? bucket.reduce((a, b) => a + b, 0) : null));
    return copySeries(
      { ...s, tags: { ...s.tags, hitcount: text } },
      {
        name: `hitcount(${s.name}, "${text}"${alignToInterval ? ', true' : ''})`,
        start: newStart,
        step: interval,
        values,
      },
    );
  });
}

export const TRANSFORM_FUNCTIONS: RenderFunction[] = [
  withFactor(
    'scale',
    'Takes one metric or a wildcard seriesList followed by a constant, and multiplies the datapoint by the constant provided at each point.',
    (v, factor) => safeMul(v, factor),
  ),
  withFactor(
    'offset',
    'Takes one metric or a wildcard seriesList followed by a constant, and adds the constant to each datapoint.',
    (v, factor) => (v === null ? null : v + factor),
  ),
  inPlace(
    'absolute',
    [SERIES_LIST],
    'Takes one metric or a wildcard seriesList and applies the mathematical abs function to each datapoint transforming it to its absolute value.',
    () => ({ suffix: '', tag: ['absolute', '1'], map: safeAbs }),
  ),
  inPlace(
    'invert',
    [SERIES_LIST],
    'Takes one metric or a wildcard seriesList, and inverts each datapoint (i.e. 1/x).',
    () => ({ suffix: '', tag: ['invert', '1'], map: (v) => safePow(v, -1) }),
  ),
  withFactor(
    'pow',
    'Takes one metric or a wildcard seriesList followed by a constant, and raises the datapoint by the power of the constant provided at each point.',
    (v, factor) => safePow(v, factor),
  ),
  inPlace(
    'squareRoot',
    [SERIES_LIST],
    'Takes one metric or a wildcard seriesList, and computes the square root of each datapoint.',
    () => ({ suffix: '', tag: ['squareRoot', '1'], map: (v) => safePow(v, 0.5) }),
  ),
  copying(
    'perSecond',
    [SERIES_LIST, { name: 'maxValue', type: 'float' }, { name: 'minValue', type: 'float' }],
    'NonNegativeDerivative adjusted for the series time interval.',
    (s, args) => ({
      name: `perSecond(${s.name})`,
      tag: ['perSecond', '1'],
      values: nonNegativeDeltas(s, args).map((delta) => (delta === null ? null : pyRound(delta / s.step, 6))),
    }),
  ),
  copying(
    'nonNegativeDerivative',
    [SERIES_LIST, { name: 'maxValue', type: 'float' }, { name: 'minValue', type: 'float' }],
    'Same as the derivative function above, but ignores datapoints that trend down.',
    (s, args) => ({
      name: `nonNegativeDerivative(${s.name})`,
      tag: ['nonNegativeDerivative', '1'],
      values: nonNegativeDeltas(s, args),
    }),
  ),
  copying('derivative', [SERIES_LIST], 'This is the opposite of the integral function.', (s) => ({
    name: `derivative(${s.name})`,
    tag: ['derivative', '1'],
    values: derivativeValues(consolidatedValues(s)),
  })),
  copying(
    'integral',
    [SERIES_LIST],
    'This will show the sum over time, sort of like a continuous addition function.',
    (s) => {
      let current = 0.0;
      const values = consolidatedValues(s).map((val) => (val === null ? null : (current += val)));
      return { name: `integral(${s.name})`, tag: ['integral', '1'], values };
    },
  ),
  copying(
    'log',
    [SERIES_LIST, { name: 'base', type: 'integer', default: 10 }],
    'Takes one metric or a wildcard seriesList, a base, and draws the y-axis in logarithmic format.',
    (s, args) => {
      const base = args.number('base', 10);
      const text = args.has('base') ? pyStr(base, args.isInt('base')) : '10';
      const values = consolidatedValues(s).map((val) =>
        val === null || val <= 0 ? null : Math.log(val) / Math.log(base),
      );
      return { name: `log(${s.name}, ${text})`, tag: ['log', text], values };
    },
  ),
  copying(
    'delay',
    [SERIES_LIST, { name: 'steps', type: 'integer', required: true }],
    'This shifts all samples later by an integer number of steps.',
    (s, args) => {
      const steps = args.integer('steps');
      const values = consolidatedValues(s);
      const shifted =
        steps < 0
          ? [...values.slice(-steps), ...new Array<Value>(Math.min(-steps, values.length)).fill(null)]
          : [
              ...new Array<Value>(Math.min(steps, values.length)).fill(null),
              ...values.slice(0, steps === 0 ? 0 : -steps),
            ];
      return { name: `delay(${s.name},${steps})`, tag: ['delay', String(steps)], values: shifted };
    },
  ),
  {
    name: 'keepLastValue',
    group: 'Transform',
    description:
      'Takes one metric or a wildcard seriesList, and optionally a limit to the number of None values to skip over.',
    params: [SERIES_LIST, { name: 'limit', type: 'intOrInf', default: Infinity }],
    run(_context, args) {
      const limit = args.number('limit', Infinity);
      return args.series('seriesList').map((s) => {
        const name = `keepLastValue(${s.name})`;
        const values = [...s.values];
        let consecutiveNones = 0;
        let lastVal: Value = null;
        values.forEach((value, i) => {
          if (value === null) consecutiveNones++;
          else {
            if (consecutiveNones > 0 && consecutiveNones <= limit && lastVal !== null)
              for (let j = i - consecutiveNones; j < i; j++) values[j] = lastVal;
            consecutiveNones = 0;
            lastVal = value;
          }
        });
        if (consecutiveNones > 0 && consecutiveNones <= limit && lastVal !== null)
          for (let j = values.length - consecutiveNones; j < values.length; j++) values[j] = lastVal;
        return { ...s, name, pathExpression: name, values };
      });
    },
  },
  {
    name: 'transformNull',
    group: 'Transform',
    description: 'Takes a metric or wildcard seriesList and replaces null values with the value specified by default.',
    params: [
      SERIES_LIST,
      { name: 'default', type: 'float', default: 0 },
      { name: 'referenceSeries', type: 'seriesList' },
    ],
    run(_context, args) {
      const fallback = args.number('default', 0);
      const tagText = args.has('default') ? pyStr(fallback, args.isInt('default')) : '0';
      const reference = args.has('referenceSeries') ? args.series('referenceSeries') : null;
      let defaults: Value[] | null = null;
      if (reference && reference.length > 0) {
        const columns = reference.map((r) => consolidatedValues(r));
        const length = Math.max(...columns.map((c) => c.length));
        defaults = [];
        for (let i = 0; i < length; i++)
          defaults.push(columns.some((c) => c[i] !== null && c[i] !== undefined) ? fallback : null);
      }
      return args.series('seriesList').map((s) => {
        const name =
          reference && reference.length > 0
            ? `transformNull(${s.name},${pyG(fallback)},referenceSeries)`
            : `transformNull(${s.name},${pyG(fallback)})`;
        const tags: Record<string, string> = { ...s.tags, transformNull: tagText };
        if (reference && reference.length > 0) tags.referenceSeries = '1';
        const own = consolidatedValues(s);
        let values: Value[];
        if (defaults && defaults.length > 0) {
          values = [];
          for (let i = 0; i < Math.max(own.length, defaults.length); i++) {
            const v = own[i] ?? null;
            values.push(v === null ? (defaults[i] ?? null) : v);
          }
        } else values = own.map((v) => (v === null ? fallback : v));
        return { ...s, name, pathExpression: name, tags, values };
      });
    },
  },
  {
    name: 'timeShift',
    group: 'Transform',
    description: 'Takes one metric or a wildcard seriesList, followed by a quoted string with the length of time.',
    params: [
      SERIES_LIST,
      {
        name: 'timeShift',
        type: 'interval',
        required: true,
        suggestions: ['1h', '6h', '12h', '1d', '2d', '7d', '14d', '30d'],
      },
      { name: 'resetEnd', type: 'boolean', default: true },
      { name: 'alignDst', type: 'boolean', default: false },
    ],
    run: (context, args) => timeShift(context, args),
  },
  {
    name: 'summarize',
    group: 'Transform',
    description: 'Summarize the data into interval buckets of a certain size.',
    params: [
      SERIES_LIST,
      { name: 'intervalString', type: 'interval', required: true, suggestions: INTERVAL_SUGGESTIONS },
      { name: 'func', type: 'aggFunc', default: 'sum', options: AGG_FUNC_NAMES },
      { name: 'alignToFrom', type: 'boolean', default: false },
    ],
    run(_context, args) {
      const { text, seconds: interval } = intervalArg(args, 'intervalString');
      const func = args.string('func', 'sum');
      const alignToFrom = args.boolean('alignToFrom', false);
      return args.series('seriesList').map((s) => {
        const newStart = alignToFrom ? s.start : s.start - (s.start % interval);
        let newEnd = alignToFrom ? s.end : s.end - (s.end % interval) + interval;
        const [values, alignedEnd] = summarizeValues(s, func, interval, newStart, newEnd);
        if (alignToFrom) newEnd = alignedEnd;
        const tags = { ...s.tags, summarize: text, summarizeFunction: func };
        const name = `summarize(${s.name}, "${text}", "${func}"${alignToFrom ? ', true' : ''})`;
        return copySeries({ ...s, tags }, { name, start: newStart, end: newEnd, step: interval, values });
      });
    },
  },
  {
    name: 'smartSummarize',
    group: 'Transform',
    description: 'Smarter version of summarize.',
    params: [
      SERIES_LIST,
      { name: 'intervalString', type: 'interval', required: true, suggestions: INTERVAL_SUGGESTIONS },
      { name: 'func', type: 'aggFunc', default: 'sum', options: AGG_FUNC_NAMES },
      {
        name: 'alignTo',
        type: 'string',
        options: [false, null, true, 'days', 'hours', 'minutes', 'months', 'seconds', 'weeks', 'years'],
      },
    ],
    async run(context, args) {
      const alignTo = args.raw0('alignTo');
      let list = args.series('seriesList');
      // a boolean is the deprecated alignToFrom, which graphite-web ignores
      if (typeof alignTo === 'string') {
        const unit = unitName(alignTo);
        const weekday = /[0-9]$/.test(alignTo) ? Number(alignTo.slice(-1)) : 1;
        const start = alignStart(context.startTime, unit, weekday);
        list = await evaluateTarget(args.raw[0]!, context.withTimes(start, context.endTime));
      }
      const { text, seconds: interval } = intervalArg(args, 'intervalString');
      const func = args.string('func', 'sum');
      return list.map((s) => {
        const [values, alignedEnd] = summarizeValues(s, func, interval);
        const tags = { ...s.tags, smartSummarize: text, smartSummarizeFunction: func };
        return copySeries(
          { ...s, tags },
          { name: `smartSummarize(${s.name}, "${text}", "${func}")`, end: alignedEnd, step: interval, values },
        );
      });
    },
  },
  {
    name: 'hitcount',
    group: 'Transform',
    description: 'Estimate hit counts from a list of time series.',
    params: [
      SERIES_LIST,
      { name: 'intervalString', type: 'interval', required: true, suggestions: INTERVAL_SUGGESTIONS },
      { name: 'alignToInterval', type: 'boolean', default: false },
    ],
    run: (context, args) => hitcount(context, args),
  },
];

function mathExp(v: Value): Value {
  return v === null ? null : Math.exp(v);
}

export const MORE_TRANSFORM_FUNCTIONS: RenderFunction[] = [
  {
    name: 'add',
    group: 'Transform',
    description:
      'Takes one metric or a wildcard seriesList followed by a constant, and adds the constant to each datapoint.',
    params: [SERIES_LIST, { name: 'constant', type: 'float', required: true }],
    run(_context, args) {
      const constant = args.number('constant');
      return args.series('seriesList').map((s) => {
        const name = `add(${s.name},${Math.trunc(constant)})`;
        const tags = { ...s.tags, add: pyStr(constant, false) };
        return {
          ...s,
          name,
          pathExpression: name,
          tags,
          values: s.values.map((v) => (v === null ? null : v + constant)),
        };
      });
    },
  },
  inPlace('exp', [SERIES_LIST], 'Raise e to the power of the datapoint.', () => ({
    suffix: '',
    tag: ['exp', 'e'],
    map: mathExp,
  })),
  inPlace(
    'logit',
    [SERIES_LIST],
    'Takes one metric or a wildcard seriesList and applies the logit function log(x / (1 - x)).',
    () => ({
      suffix: '',
      tag: ['logit', 'logit'],
      map: (v) => {
        if (v === null || v === 1) return null;
        const ratio = v / (1 - v);
        return ratio > 0 ? Math.log(ratio) : null;
      },
    }),
  ),
  inPlace(
    'sigmoid',
    [SERIES_LIST],
    'Takes one metric or a wildcard seriesList and applies the sigmoid function 1 / (1 + exp(-x)).',
    () => ({
      suffix: '',
      tag: ['sigmoid', 'sigmoid'],
      map: (v) => (v === null ? null : 1 / (1 + Math.exp(-v))),
    }),
  ),
  inPlace(
    'isNonNull',
    [SERIES_LIST],
    'Takes a metric or wildcard seriesList and counts up the number of non-null values.',
    () => ({
      suffix: '',
      tag: ['isNonNull', '1'],
      map: (v) => (v === null ? 0 : 1),
    }),
  ),
  {
    name: 'minMax',
    group: 'Transform',
    description:
      'Applies the popular min max normalization technique, which takes each point and applies (x - min) / (max - min).',
    params: [SERIES_LIST],
    run(_context, args) {
      return args.series('seriesList').map((s) => {
        const name = `minMax(${s.name})`;
        const own = consolidatedValues(s);
        const min = safeMin(own) ?? 0.0;
        const max = safeMax(own) ?? 0.0;
        const values = s.values.map((v) => (v === null ? null : max === min ? 0.0 : (v - min) / (max - min)));
        return { ...s, name, pathExpression: name, values };
      });
    },
  },
  {
    name: 'offsetToZero',
    group: 'Transform',
    description:
      'Offsets a metric or wildcard seriesList by subtracting the minimum value in the series from each datapoint.',
    params: [SERIES_LIST],
    run(_context, args) {
      return args.series('seriesList').map((s) => {
        const name = `offsetToZero(${s.name})`;
        const minimum = safeMin(consolidatedValues(s));
        const tags = { ...s.tags, offsetToZero: minimum === null ? 'None' : pyStr(minimum, false) };
        const values = s.values.map((v) => (v === null || minimum === null ? v : v - minimum));
        return { ...s, name, pathExpression: name, tags, values };
      });
    },
  },
  {
    name: 'scaleToSeconds',
    group: 'Transform',
    description:
      'Takes one metric or a wildcard seriesList and returns "value per seconds" where seconds is a parameter.',
    params: [SERIES_LIST, { name: 'seconds', type: 'float', required: true }],
    run(_context, args) {
      const seconds = args.number('seconds');
      return args.series('seriesList').map((s) => {
        const name = `scaleToSeconds(${s.name},${Math.trunc(seconds)})`;
        const factor = seconds / s.step;
        const tags = { ...s.tags, scaleToSeconds: pyStr(seconds, false) };
        const values = s.values.map((v) => (v === null ? null : pyRound(v * factor, 6)));
        return { ...s, name, pathExpression: name, tags, values };
      });
    },
  },
  {
    name: 'round',
    group: 'Transform',
    description:
      'Takes one metric or a wildcard seriesList optionally followed by a precision, and rounds each datapoint to the specified precision.',
    params: [SERIES_LIST, { name: 'precision', type: 'integer', default: 0 }],
    run(_context, args) {
      const given = args.optionalNumber('precision');
      const precision = given ?? 0;
      return args.series('seriesList').map((s) => {
        const name = given === null ? `round(${s.name})` : `round(${s.name},${pyG(Math.trunc(given))})`;
        const tags = { ...s.tags, round: String(precision || 0) };
        const values = s.values.map((v) => (v === null ? null : pyRound(v, precision)));
        return { ...s, name, pathExpression: name, tags, values };
      });
    },
  },
  copying(
    'integralByInterval',
    [SERIES_LIST, { name: 'intervalUnit', type: 'string', required: true }],
    'This will do the same as integral() funcion, except resetting the total to 0 at the given time in the parameter "from".',
    (s, args, context) => {
      const unit = args.string('intervalUnit');
      const duration = Math.trunc(Math.abs(parseInterval(unit)));
      let current = 0.0;
      let t = s.start;
      const values = consolidatedValues(s).map((val) => {
        if (Math.floor((t - context.startTime) / duration) !== Math.floor((t - context.startTime - s.step) / duration))
          current = 0.0;
        if (val !== null) current += val;
        t += s.step;
        return current;
      });
      return { name: `integralByInterval(${s.name},'${unit}')`, tag: ['integralByInterval', unit], values };
    },
  ),
  {
    name: 'interpolate',
    group: 'Transform',
    description:
      'Takes one metric or a wildcard seriesList, and optionally a limit to the number of None values to skip over.',
    params: [SERIES_LIST, { name: 'limit', type: 'intOrInf', default: Infinity }],
    run(_context, args) {
      const limit = args.number('limit', Infinity);
      return args.series('seriesList').map((s) => {
        const name = `interpolate(${s.name})`;
        const values = [...s.values];
        let consecutiveNones = 0;
        for (let i = 1; i < values.length; i++) {
          const value = values[i]!;
          if (value === null) consecutiveNones++;
          else if (consecutiveNones === 0) continue;
          else if (values[i - consecutiveNones - 1] === null) consecutiveNones = 0;
          else {
            const before = values[i - consecutiveNones - 1]!;
            if (consecutiveNones > 0 && consecutiveNones <= limit)
              for (let j = i - consecutiveNones; j < i; j++)
                values[j] = before + ((j - (i - consecutiveNones - 1)) * (value - before)) / (consecutiveNones + 1);
            consecutiveNones = 0;
          }
        }
        return { ...s, name, pathExpression: name, values };
      });
    },
  },
];

export const STACK_TRANSFORM_FUNCTIONS: RenderFunction[] = [
  {
    name: 'timeStack',
    group: 'Transform',
    description:
      'Takes one metric or a wildcard seriesList, followed by a quoted string with the length of time, then two integers: each shift of the series from start to end, stacked on the current range.',
    params: [
      SERIES_LIST,
      {
        name: 'timeShiftUnit',
        type: 'interval',
        default: '1d',
        suggestions: ['1h', '6h', '12h', '1d', '2d', '7d', '14d', '30d'],
      },
      { name: 'timeShiftStart', type: 'integer', default: 0 },
      { name: 'timeShiftEnd', type: 'integer', default: 7 },
    ],
    async run(context, args) {
      let unit = args.string('timeShiftUnit', '1d');
      if (/^\d/.test(unit)) unit = `-${unit}`;
      const delta = parseInterval(unit);
      const list = args.series('seriesList');
      if (list.length < 1) return [];
      const first = list[0]!;
      const results: Series[] = [];
      for (let shift = args.integer('timeShiftStart', 0); shift < args.integer('timeShiftEnd', 7); shift++) {
        const shifted = await evaluateTarget(
          args.raw[0]!,
          context.withTimes(context.startTime + delta * shift, context.endTime + delta * shift),
        );
        for (const s of shifted) {
          const name = `timeShift(${s.name}, ${unit}, ${shift})`;
          results.push({
            ...s,
            name,
            pathExpression: name,
            tags: { ...s.tags, timeShiftUnit: unit, timeShift: String(shift) },
            start: first.start,
            end: first.end,
          });
        }
      }
      return results;
    },
  },
];

export const SLICE_TRANSFORM_FUNCTIONS: RenderFunction[] = [
  {
    name: 'timeSlice',
    group: 'Transform',
    description:
      'Takes one metric or a wildcard metric, followed by a quoted string with the time to start the line and another quoted string with the time to end the line.',
    params: [
      SERIES_LIST,
      { name: 'startSliceAt', type: 'date', required: true },
      { name: 'endSliceAt', type: 'date', default: 'now' },
    ],
    run(context, args) {
      // graphite-web reads these against the wall clock, not the request's now; carillon uses now (docs/GRAPHITE.md)
      const start = parseTimeSpec(String(args.numberOrString('startSliceAt')), context.now);
      const end = parseTimeSpec(String(args.numberOrString('endSliceAt', 'now')), context.now);
      return args.series('seriesList').map((s) => {
        let t = context.startTime;
        const values = s.values.map((v) => {
          const kept = v === null || t < start || t > end ? null : v;
          t += s.step;
          return kept;
        });
        const tags = { ...s.tags, timeSliceStart: String(start), timeSliceEnd: String(end) };
        return { ...s, name: `timeSlice(${s.name}, ${start}, ${end})`, tags, values };
      });
    },
  },
];

/**
 * A generated series (timeFunction, sinFunction, randomWalkFunction): a value per step from the range's start (UTC, as
 * TIME_ZONE = 'UTC' makes it).
 */
export function generated(context: RenderContext, name: string, step: number, value: (t: number) => number): Series[] {
  const values: number[] = [];
  for (let t = context.startTime; t < context.endTime; t += step) values.push(value(t));
  return [
    makeSeries({
      name,
      start: context.startTime,
      end: context.endTime,
      step,
      values,
      xFilesFactor: context.xFilesFactor,
    }),
  ];
}

const TIME_PARAMS: ParamSpec[] = [
  { name: 'name', type: 'string', required: true },
  { name: 'step', type: 'integer', default: 60 },
];
const SIN_PARAMS: ParamSpec[] = [
  { name: 'name', type: 'string', required: true },
  { name: 'amplitude', type: 'integer', default: 1 },
  { name: 'step', type: 'integer', default: 60 },
];

export const GENERATOR_TRANSFORM_FUNCTIONS: RenderFunction[] = [
  ...['timeFunction', 'time'].map((name): RenderFunction => ({
    name,
    group: 'Transform',
    description: 'Short Alias: time(). Just returns the timestamp for each X value.',
    params: TIME_PARAMS,
    run: (context, args) => generated(context, args.string('name'), args.integer('step', 60), (t) => t),
  })),
  ...['sinFunction', 'sin'].map((name): RenderFunction => ({
    name,
    group: 'Transform',
    description:
      'Short Alias: sin(). Just returns the sine of the current time. The optional amplitude parameter changes the amplitude of the wave.',
    params: SIN_PARAMS,
    run: (context, args) => {
      const amplitude = args.number('amplitude', 1);
      return generated(context, args.string('name'), args.integer('step', 60), (t) => Math.sin(t) * amplitude);
    },
  })),
];
