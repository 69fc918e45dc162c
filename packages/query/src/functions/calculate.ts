/** graphite-web's Calculate group: moving windows and percentiles of each series. */
import { consolidatedValues } from '../consolidation.js';
import type { RenderContext } from '../render-context.js';
import { copySeries, type Series } from '../series.js';
import { percentile } from './combine.js';
import { parseInterval, xff } from './common.js';
import { evaluateTarget } from './evaluate.js';
import { pyG, pyStr } from './python-format.js';
import type { Args, ParamSpec, RenderFunction } from './registry.js';
import { AGG_FUNC_NAMES, getAggFunc } from './safe.js';

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
