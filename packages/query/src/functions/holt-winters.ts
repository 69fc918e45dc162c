/**
 * graphite-web's Holt-Winters functions (Calculate group): triple exponential smoothing over the series read from
 * `bootstrapInterval` before the range, then cut to the range. Tag objects are shared the way graphite-web shares
 * them (its analysis adds its tags to the series' own dict), so the answers carry the same tags.
 */
import { consolidatedValues } from '../consolidation.js';
import { QueryError } from '../errors.js';
import type { RenderContext } from '../render-context.js';
import { makeSeries, type Series } from '../series.js';
import { parseInterval } from './common.js';
import { evaluateTarget } from './evaluate.js';
import type { Args, ParamSpec, RenderFunction } from './registry.js';

const SERIES_LIST: ParamSpec = { name: 'seriesList', type: 'seriesList', required: true };
const DELTA: ParamSpec = { name: 'delta', type: 'integer', default: 3 };
const BOOTSTRAP: ParamSpec = { name: 'bootstrapInterval', type: 'interval', default: '7d', suggestions: ['7d', '30d'] };
const SEASONALITY: ParamSpec = { name: 'seasonality', type: 'interval', default: '1d', suggestions: ['1d', '7d'] };

interface Analysis {
  predictions: (number | null)[];
  deviations: (number | null)[];
}

/** holtWintersAnalysis: the one-step-ahead predictions and seasonal deviations of each point. */
function analyse(series: Series, seasonality: string): Analysis {
  const alpha = 0.1;
  const gamma = 0.1;
  const beta = 0.0035;
  const seasonLength = Math.floor(parseInterval(seasonality) / series.step);
  const intercepts: (number | null)[] = [];
  const slopes: number[] = [];
  const seasonals: number[] = [];
  const predictions: (number | null)[] = [];
  const deviations: number[] = [];
  const lastSeasonal = (i: number) => (i - seasonLength >= 0 ? seasonals[i - seasonLength]! : 0);
  const lastDeviation = (i: number) => (i - seasonLength >= 0 ? deviations[i - seasonLength]! : 0);
  let nextPred: number | null = null;
  consolidatedValues(series).forEach((actual, i) => {
    if (actual === null) {
      intercepts.push(null);
      slopes.push(0);
      seasonals.push(0);
      predictions.push(nextPred);
      deviations.push(0);
      nextPred = null;
      return;
    }
    let lastIntercept: number;
    let lastSlope: number;
    let prediction: number | null;
    if (i === 0) {
      lastIntercept = actual;
      lastSlope = 0;
      prediction = actual;
    } else {
      lastIntercept = intercepts[intercepts.length - 1] ?? actual;
      lastSlope = slopes[slopes.length - 1]!;
      prediction = nextPred;
    }
    const season = lastSeasonal(i);
    const nextLastSeasonal = lastSeasonal(i + 1);
    const intercept = alpha * (actual - season) + (1 - alpha) * (lastIntercept + lastSlope);
    const slope = beta * (intercept - lastIntercept) + (1 - beta) * lastSlope;
    const seasonal = gamma * (actual - intercept) + (1 - gamma) * season;
    nextPred = intercept + slope + nextLastSeasonal;
    const deviation = gamma * Math.abs(actual - (prediction ?? 0)) + (1 - gamma) * lastDeviation(i);
    intercepts.push(intercept);
    slopes.push(slope);
    seasonals.push(seasonal);
    predictions.push(prediction);
    deviations.push(deviation);
  });
  return { predictions, deviations };
}

interface Bands {
  series: Series;
  tags: Record<string, string>;
  start: number;
  end: number;
  step: number;
  lower: (number | null)[];
  upper: (number | null)[];
}

async function preview(context: RenderContext, args: Args): Promise<{ list: Series[]; seconds: number }> {
  const seconds = parseInterval(args.string('bootstrapInterval', '7d'));
  const list = await evaluateTarget(args.raw[0]!, context.withTimes(context.startTime - seconds, context.endTime));
  return { list, seconds };
}

async function confidenceBands(context: RenderContext, args: Args): Promise<Bands[]> {
  const delta = args.number('delta', 3);
  const { list, seconds } = await preview(context, args);
  return list.map((series) => {
    const { predictions, deviations } = analyse(series, args.string('seasonality', '1d'));
    const windowPoints = Math.floor(seconds / series.step);
    const forecast = predictions.slice(windowPoints);
    const deviation = deviations.slice(windowPoints);
    const lower: (number | null)[] = [];
    const upper: (number | null)[] = [];
    forecast.forEach((f, i) => {
      const d = deviation[i] ?? null;
      if (f === null || d === null) {
        upper.push(null);
        lower.push(null);
      } else {
        upper.push(f + delta * d);
        lower.push(f - delta * d);
      }
    });
    const tags = {
      ...series.tags,
      holtWintersForecast: '1',
      holtWintersDeviation: '1',
      holtWintersConfidenceUpper: '1',
      holtWintersConfidenceLower: '1',
    };
    return { series, tags, start: series.start + seconds, end: series.end, step: series.step, lower, upper };
  });
}

function bandSeries(b: Bands): Series[] {
  const make = (name: string, values: (number | null)[]) => ({
    ...makeSeries({
      name,
      start: b.start,
      end: b.end,
      step: b.step,
      values,
      tags: b.tags,
      xFilesFactor: b.series.xFilesFactor,
    }),
    pathExpression: b.series.pathExpression,
  });
  return [
    make(`holtWintersConfidenceLower(${b.series.name})`, b.lower),
    make(`holtWintersConfidenceUpper(${b.series.name})`, b.upper),
  ];
}

export const HOLT_WINTERS_FUNCTIONS: RenderFunction[] = [
  {
    name: 'holtWintersForecast',
    group: 'Calculate',
    description: 'Performs a Holt-Winters forecast using the series as input data.',
    params: [SERIES_LIST, BOOTSTRAP, SEASONALITY],
    async run(context, args) {
      const { list, seconds } = await preview(context, args);
      return list.map((series) => {
        const { predictions } = analyse(series, args.string('seasonality', '1d'));
        const windowPoints = Math.floor(seconds / series.step);
        const tags = { ...series.tags, holtWintersForecast: '1', holtWintersDeviation: '1' };
        return makeSeries({
          name: `holtWintersForecast(${series.name})`,
          start: series.start + seconds,
          end: series.end,
          step: series.step,
          values: predictions.slice(windowPoints),
          tags,
          xFilesFactor: series.xFilesFactor,
        });
      });
    },
  },
  {
    name: 'holtWintersConfidenceBands',
    group: 'Calculate',
    description:
      'Performs a Holt-Winters forecast using the series as input data and plots upper and lower bands with the predicted forecast deviations.',
    params: [SERIES_LIST, DELTA, BOOTSTRAP, SEASONALITY],
    run: async (context, args) => (await confidenceBands(context, args)).flatMap((b) => bandSeries(b)),
  },
  {
    name: 'holtWintersConfidenceArea',
    group: 'Calculate',
    description:
      'Performs a Holt-Winters forecast using the series as input data and plots the area between the upper and lower bands of the predicted forecast deviations.',
    params: [SERIES_LIST, DELTA, BOOTSTRAP, SEASONALITY],
    async run(context, args) {
      const bands = (await confidenceBands(context, args)).flatMap((b) => bandSeries(b));
      if (bands.length !== 2) throw new QueryError('areaBetween series argument must reference *exactly* 2 series');
      const [lower, upper] = bands as [Series, Series];
      const tags = { ...upper.tags, holtWintersConfidenceArea: '1' };
      const name = `holtWintersConfidenceArea(${upper.pathExpression})`;
      return [
        { ...lower, tags, name, pathExpression: name },
        { ...upper, tags: { ...tags }, name, pathExpression: name },
      ];
    },
  },
  {
    name: 'holtWintersAberration',
    group: 'Calculate',
    description:
      'Performs a Holt-Winters forecast using the series as input data and plots the positive or negative deviation of the series data from the forecast.',
    params: [SERIES_LIST, DELTA, BOOTSTRAP, SEASONALITY],
    async run(context, args) {
      const bands = new Map((await confidenceBands(context, args)).map((b) => [b.series.name, b]));
      return args.series('seriesList').map((series) => {
        const band = bands.get(series.name);
        if (!band) throw new QueryError(`holtWintersAberration: no forecast for ${series.name}`);
        const values = series.values.map((v, i) => {
          if (v === null) return 0;
          // graphite-web indexes the bands by the series' position and fails past their end
          if (i >= band.upper.length)
            throw new QueryError(`holtWintersAberration: the forecast of ${series.name} is shorter than the series`);
          const up = band.upper[i] ?? null;
          const low = band.lower[i] ?? null;
          if (up !== null && v > up) return v - up;
          if (low !== null && v < low) return v - low;
          return 0;
        });
        const tags = { ...series.tags, holtWintersAberration: '1' };
        return makeSeries({
          name: `holtWintersAberration(${series.name})`,
          start: series.start,
          end: series.end,
          step: series.step,
          values,
          tags,
          xFilesFactor: series.xFilesFactor,
        });
      });
    },
  },
];
