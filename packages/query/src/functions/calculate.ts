/** graphite-web's Calculate group: moving windows and percentiles of each series. */
import { consolidatedValues } from '../consolidation.js';
import type { RenderContext } from '../render-context.js';
import { parseTimeSpec } from '../time-spec.js';
import { copySeries, makeSeries, type Series } from '../series.js';
import { percentile } from './combine.js';
import { parseInterval, xff } from './common.js';
import { evaluateTarget } from './evaluate.js';
import { pyG, pyRound, pyStr } from './python-format.js';
import type { Args, ParamSpec, RenderFunction } from './registry.js';
import { AGG_FUNC_NAMES, getAggFunc, safeAvg } from './safe.js';

const SERIES_LIST: ParamSpec = { name: 'seriesList', type: 'seriesList', required: true };
const WINDOW_SUGGESTIONS = [5, 7, 10, '1min', '5min', '10min', '30min', '1hour'];

/** movingWindow: re-reads the target from `windowSize` earlier, then reduces the window before each point. */
async function movingWindow(
  context: RenderContext,
  args: Args,
  func: string,
  xFilesFactor: number | null,
): Promise<Series[]> {
  const list = args.series('seriesList');
  if (list.length === 0) return [];
  const windowSize = args.numberOrString('windowSize');
  const reduce = getAggFunc(func);
  const previewSeconds =
    typeof windowSize === 'string'
      ? Math.abs(parseInterval(windowSize))
      : Math.max(...list.map((s) => s.step)) * Math.trunc(windowSize);
  const preview = await evaluateTarget(
    args.raw[0]!,
    context.withTimes(context.startTime - previewSeconds, context.endTime),
  );
  const tagName = `moving${func.charAt(0).toUpperCase()}${func.slice(1).toLowerCase()}`;
  const sizeText = typeof windowSize === 'string' ? windowSize : pyStr(windowSize, args.isInt('windowSize'));
  return preview.map((s) => {
    const name =
      typeof windowSize === 'string' ? `${tagName}(${s.name},"${windowSize}")` : `${tagName}(${s.name},${sizeText})`;
    const windowPoints = typeof windowSize === 'string' ? Math.floor(previewSeconds / s.step) : Math.trunc(windowSize);
    const effectiveXff = xFilesFactor ?? s.xFilesFactor;
    const own = consolidatedValues(s);
    const values: (number | null)[] = [];
    for (let i = windowPoints; i < own.length; i++) {
      const nonNull = own.slice(i - windowPoints, i).filter((v): v is number => v !== null);
      values.push(nonNull.length > 0 && xff(nonNull.length, windowPoints, effectiveXff) ? reduce(nonNull) : null);
    }
    return copySeries(
      { ...s, tags: { ...s.tags, [tagName]: sizeText } },
      { name, start: s.start + previewSeconds, values },
    );
  });
}

export const CALCULATE_FUNCTIONS: RenderFunction[] = [
  {
    name: 'movingAverage',
    group: 'Calculate',
    description:
      'Graphs the moving average of a metric (or metrics) over a fixed number of past points, or a time interval.',
    params: [
      SERIES_LIST,
      { name: 'windowSize', type: 'intOrInterval', required: true, suggestions: WINDOW_SUGGESTIONS },
      { name: 'xFilesFactor', type: 'float' },
    ],
    run: (context, args) => movingWindow(context, args, 'average', args.optionalNumber('xFilesFactor')),
  },
  {
    name: 'movingWindow',
    group: 'Calculate',
    description:
      'Graphs a moving window function of a metric (or metrics) over a fixed number of past points, or a time interval.',
    params: [
      SERIES_LIST,
      { name: 'windowSize', type: 'intOrInterval', required: true, suggestions: WINDOW_SUGGESTIONS },
      { name: 'func', type: 'aggFunc', default: 'average', options: AGG_FUNC_NAMES },
      { name: 'xFilesFactor', type: 'float' },
    ],
    run: (context, args) =>
      movingWindow(context, args, args.string('func', 'average'), args.optionalNumber('xFilesFactor')),
  },
  {
    name: 'nPercentile',
    group: 'Calculate',
    description: 'Returns n-percent of each series in the seriesList.',
    params: [SERIES_LIST, { name: 'n', type: 'float', required: true }],
    run(_context, args) {
      const n = args.number('n');
      const result: Series[] = [];
      for (const s of args.series('seriesList')) {
        const known = consolidatedValues(s).filter((v): v is number => v !== null);
        if (known.length === 0) continue;
        const value = percentile(known, n);
        if (value === null) continue;
        const pointCount = Math.trunc((s.end - s.start) / s.step);
        const tags = { ...s.tags, nPercentile: pyStr(n, args.isInt('n')) };
        result.push(
          copySeries(
            { ...s, tags },
            { name: `nPercentile(${s.name}, ${pyG(n)})`, values: new Array<number>(pointCount).fill(value) },
          ),
        );
      }
      return result;
    },
  },
];

function moving(name: string, func: string): RenderFunction {
  return {
    name,
    group: 'Calculate',
    description: `Graphs the moving ${func} of a metric (or metrics) over a fixed number of past points, or a time interval.`,
    params: [
      SERIES_LIST,
      { name: 'windowSize', type: 'intOrInterval', required: true, suggestions: WINDOW_SUGGESTIONS },
      { name: 'xFilesFactor', type: 'float' },
    ],
    run: (context, args) => movingWindow(context, args, func, args.optionalNumber('xFilesFactor')),
  };
}

export const MORE_CALCULATE_FUNCTIONS: RenderFunction[] = [
  moving('movingMax', 'max'),
  moving('movingMin', 'min'),
  moving('movingMedian', 'median'),
  moving('movingSum', 'sum'),
  {
    name: 'stdev',
    group: 'Calculate',
    description:
      'Takes one metric or a wildcard seriesList followed by an integer N. Draw the Standard Deviation of all metrics passed for the past N datapoints.',
    params: [
      SERIES_LIST,
      { name: 'points', type: 'integer', required: true },
      { name: 'windowTolerance', type: 'float', default: 0.1 },
    ],
    run(_context, args) {
      const points = args.integer('points');
      const tolerance = args.number('windowTolerance', 0.1);
      return args.series('seriesList').map((s) => {
        const own = consolidatedValues(s);
        let valid = 0;
        let sum = 0;
        let sumOfSquares = 0;
        const values = own.map((value, index) => {
          const dropped = index < points ? null : s.values[index - points]!;
          if (dropped !== null) {
            valid--;
            sum -= dropped;
            sumOfSquares -= dropped ** 2;
          }
          if (value !== null) {
            valid++;
            sum += value;
            sumOfSquares += value ** 2;
          }
          if (valid > 0 && valid / points >= tolerance) {
            const deviation = Math.sqrt(valid * sumOfSquares - sum ** 2) / valid;
            return Number.isNaN(deviation) ? null : deviation;
          }
          return null;
        });
        return copySeries(
          { ...s, tags: { ...s.tags, stdev: String(points) } },
          { name: `stdev(${s.name},${points})`, values },
        );
      });
    },
  },
];

export const LINE_CALCULATE_FUNCTIONS: RenderFunction[] = [
  {
    name: 'identity',
    group: 'Calculate',
    description: 'Identity function: returns datapoints where the value equals the timestamp of the datapoint.',
    params: [{ name: 'name', type: 'string', required: true }],
    run(context, args) {
      const name = args.string('name');
      const { startTime: start, endTime: end } = context;
      const values: number[] = [];
      for (let t = start; t < end; t += 60) values.push(t);
      return [
        {
          ...makeSeries({ name, start, end, step: 60, values, xFilesFactor: context.xFilesFactor }),
          pathExpression: `identity("${name}")`,
        },
      ];
    },
  },
  {
    name: 'aggregateLine',
    group: 'Calculate',
    description:
      'Takes a metric or wildcard seriesList and draws a horizontal line based on the function applied to each series.',
    params: [
      SERIES_LIST,
      { name: 'func', type: 'aggFunc', default: 'average', options: AGG_FUNC_NAMES },
      { name: 'keepStep', type: 'boolean', default: false },
    ],
    run(context, args) {
      const reduce = getAggFunc(args.string('func', 'average'));
      const keepStep = args.boolean('keepStep', false);
      return args.series('seriesList').map((s) => {
        const value = reduce(consolidatedValues(s));
        const name = value === null ? `aggregateLine(${s.name}, None)` : `aggregateLine(${s.name}, ${pyG(value)})`;
        if (keepStep)
          return copySeries(s, { name, values: new Array<number | null>(consolidatedValues(s).length).fill(value) });
        const { startTime: start, endTime: end } = context;
        const line = makeSeries({
          name: value === null ? 'None' : pyStr(value, false),
          start,
          end,
          step: Math.trunc((end - start) / 2),
          values: [value, value, value],
          xFilesFactor: context.xFilesFactor,
        });
        return { ...line, name, pathExpression: name };
      });
    },
  },
  {
    name: 'exponentialMovingAverage',
    group: 'Calculate',
    description:
      'Takes a series of values and a window size and produces an exponential moving average utilizing the following formula: ema(current) = constant * (Current Value) + (1 - constant) * ema(previous).',
    params: [
      SERIES_LIST,
      { name: 'windowSize', type: 'intOrInterval', required: true, suggestions: WINDOW_SUGGESTIONS },
    ],
    async run(context, args) {
      const list = args.series('seriesList');
      if (list.length === 0) return [];
      const windowSize = args.numberOrString('windowSize');
      const previewSeconds =
        typeof windowSize === 'string'
          ? Math.abs(parseInterval(windowSize))
          : Math.max(...list.map((s) => s.step)) * Math.trunc(windowSize);
      const constant = 2 / ((typeof windowSize === 'string' ? Math.trunc(previewSeconds) : Math.trunc(windowSize)) + 1);
      const preview = await evaluateTarget(
        args.raw[0]!,
        context.withTimes(context.startTime - previewSeconds, context.endTime),
      );
      const sizeText = typeof windowSize === 'string' ? windowSize : pyStr(windowSize, args.isInt('windowSize'));
      return preview.map((s) => {
        const name =
          typeof windowSize === 'string'
            ? `exponentialMovingAverage(${s.name},"${windowSize}")`
            : `exponentialMovingAverage(${s.name},${sizeText})`;
        const windowPoints =
          typeof windowSize === 'string' ? Math.floor(previewSeconds / s.step) : Math.trunc(windowSize);
        const own = s.values;
        let ema = safeAvg(own.slice(0, windowPoints)) || 0;
        const values: (number | null)[] = [pyRound(ema, 6)];
        for (let i = windowPoints; i < own.length; i++) {
          const v = own[i]!;
          if (v === null) values.push(null);
          else {
            ema = constant * v + (1 - constant) * ema;
            values.push(pyRound(ema, 6));
          }
        }
        return copySeries(
          { ...s, tags: { ...s.tags, exponentialMovingAverage: sizeText } },
          { name, start: s.start + previewSeconds, values },
        );
      });
    },
  },
];

/** graphite-web's _linearRegressionAnalysis: least squares over the known values; null when they fit no line. */
function linearFit(s: Series): [number, number] | null {
  const values = consolidatedValues(s);
  let n = 0;
  let sumI = 0;
  let sumV = 0;
  let sumII = 0;
  let sumIV = 0;
  values.forEach((v, i) => {
    if (v === null) return;
    n++;
    sumI += i;
    sumV += v;
    sumII += i * i;
    sumIV += i * v;
  });
  const denominator = n * sumII - sumI * sumI;
  if (denominator === 0) return null;
  const factor = (n * sumIV - sumI * sumV) / denominator / s.step;
  const offset = (sumII * sumV - sumIV * sumI) / denominator - factor * s.start;
  return [factor, offset];
}

export const REGRESSION_FUNCTIONS: RenderFunction[] = [
  {
    name: 'linearRegression',
    group: 'Calculate',
    description: 'Graphs the linear regression function by least squares method.',
    params: [SERIES_LIST, { name: 'startSourceAt', type: 'date' }, { name: 'endSourceAt', type: 'date' }],
    async run(context, args) {
      const startText = args.optionalString('startSourceAt');
      const endText = args.optionalString('endSourceAt');
      const start = startText === null ? context.startTime : parseTimeSpec(startText, context.now);
      const end = endText === null ? context.endTime : parseTimeSpec(endText, context.now);
      const sources =
        startText === null && endText === null
          ? args.series('seriesList')
          : await evaluateTarget(args.raw[0]!, context.withTimes(start, end));
      const list = args.series('seriesList');
      const result: Series[] = [];
      for (let i = 0; i < Math.min(sources.length, list.length); i++) {
        const series = list[i]!;
        const fit = linearFit(sources[i]!);
        const tags = { ...series.tags, linearRegressions: `${start}, ${end}` };
        if (!fit) continue;
        const [factor, offset] = fit;
        const name = `linearRegression(${series.name}, ${start}, ${end})`;
        const values = series.values.map((_, j) => offset + (series.start + j * series.step) * factor);
        result.push({
          ...makeSeries({
            name,
            start: series.start,
            end: series.end,
            step: series.step,
            values,
            tags,
            xFilesFactor: series.xFilesFactor,
          }),
        });
      }
      return result;
    },
  },
];
