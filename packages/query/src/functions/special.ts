/** graphite-web's Special group: consolidation settings, constant lines, name surgery, fallbacks. */
import { parseConsolidationFunction } from '../consolidation.js';
import { makeSeries, withFields } from '../series.js';
import { substr } from './alias.js';
import { pyStr } from './python-format.js';
import { generated } from './transform.js';
import type { RenderContext } from '../render-context.js';
import type { Series } from '../series.js';
import type { Args, ParamSpec, RenderFunction } from './registry.js';

const SERIES_LIST: ParamSpec = { name: 'seriesList', type: 'seriesList', required: true };
const CONSOLIDATION_OPTIONS = ['average', 'avg', 'avg_zero', 'first', 'last', 'max', 'min', 'sum'];

export const SPECIAL_FUNCTIONS: RenderFunction[] = [
  {
    name: 'consolidateBy',
    group: 'Special',
    description:
      'Takes one metric or a wildcard seriesList and a consolidation function name: how values are consolidated when a response holds fewer points than the series has.',
    params: [
      SERIES_LIST,
      { name: 'consolidationFunc', type: 'string', required: true, options: CONSOLIDATION_OPTIONS },
    ],
    run(_context, args) {
      const fn = parseConsolidationFunction(args.string('consolidationFunc'));
      return args.series('seriesList').map((s) => {
        const name = `consolidateBy(${s.name},"${fn}")`;
        return withFields(s, {
          consolidationFunc: fn,
          name,
          pathExpression: name,
          tags: { ...s.tags, consolidateBy: fn },
        });
      });
    },
  },
  {
    name: 'cumulative',
    group: 'Special',
    description: 'Takes one metric or a wildcard seriesList; consolidates by sum (consolidateBy(seriesList, "sum")).',
    params: [SERIES_LIST],
    run(_context, args) {
      return args.series('seriesList').map((s) => {
        const name = `consolidateBy(${s.name},"sum")`;
        return {
          ...s,
          consolidationFunc: 'sum' as const,
          name,
          pathExpression: name,
          tags: { ...s.tags, consolidateBy: 'sum' },
        };
      });
    },
  },
  {
    name: 'constantLine',
    group: 'Special',
    description: 'Takes a float F. Draws a horizontal line at value F across the graph.',
    params: [{ name: 'value', type: 'float', required: true }],
    run(context, args) {
      const value = args.number('value');
      const text = pyStr(value, args.isInt('value'));
      const start = context.startTime;
      const end = context.endTime;
      const series = makeSeries({
        name: text,
        start,
        end,
        step: Math.trunc((end - start) / 2),
        values: [value, value, value],
        xFilesFactor: context.xFilesFactor,
        pathExpression: `constantLine(${text})`,
      });
      return [series];
    },
  },
  {
    name: 'changed',
    group: 'Special',
    description: 'Takes one metric or a wildcard seriesList. Output 1 when the value changed, 0 when null or the same.',
    params: [SERIES_LIST],
    run(_context, args) {
      return args.series('seriesList').map((s) => {
        const name = `changed(${s.name})`;
        let previous: number | null = null;
        const values = s.values.map((value) => {
          if (previous === null) {
            previous = value;
            return 0;
          }
          if (value !== null && previous !== value) {
            previous = value;
            return 1;
          }
          return 0;
        });
        return { ...s, name, pathExpression: name, values };
      });
    },
  },
  {
    name: 'substr',
    group: 'Special',
    description:
      'Takes one metric or a wildcard seriesList followed by 1 or 2 integers: prints the nodes in that range of the name.',
    params: [SERIES_LIST, { name: 'start', type: 'node', default: 0 }, { name: 'stop', type: 'node', default: 0 }],
    run(_context, args) {
      const start = args.integer('start', 0);
      const stop = args.integer('stop', 0);
      return args.series('seriesList').map((s) => withFields(s, { name: substr(s.name, start, stop) }));
    },
  },
  {
    name: 'fallbackSeries',
    group: 'Special',
    description:
      'Takes a wildcard seriesList, and a second fallback metric. If the wildcard does not match any series, draws the fallback metric.',
    params: [SERIES_LIST, { name: 'fallback', type: 'seriesList', required: true }],
    run(_context, args) {
      const list = args.series('seriesList');
      return list.length > 0 ? list : args.series('fallback');
    },
  },
  {
    name: 'setXFilesFactor',
    group: 'Special',
    description:
      'Short form: xFilesFactor(). Takes one metric or a wildcard seriesList and an xFilesFactor value between 0 and 1.',
    params: [SERIES_LIST, { name: 'xFilesFactor', type: 'float', required: true }],
    run(_context, args) {
      const x = args.number('xFilesFactor');
      const text = pyStr(x, args.isInt('xFilesFactor'));
      return args
        .series('seriesList')
        .map((s) => withFields(s, { xFilesFactor: x, tags: { ...s.tags, xFilesFactor: text } }));
    },
  },
];

// graphite-web registers the same function under both names
SPECIAL_FUNCTIONS.push({ ...SPECIAL_FUNCTIONS.find((f) => f.name === 'setXFilesFactor')!, name: 'xFilesFactor' });

/** randomWalkFunction: from 0, each step adds a uniform random value in [-0.5, 0.5). */
function randomWalk(context: RenderContext, args: Args): Series[] {
  let value = 0;
  return generated(context, args.string('name'), args.integer('step', 60), () => {
    const current = value;
    value += Math.random() - 0.5;
    return current;
  });
}

export const RANDOM_FUNCTIONS: RenderFunction[] = ['randomWalkFunction', 'randomWalk'].map((name) => ({
  name,
  group: 'Special',
  description:
    'Short Alias: randomWalk(). Returns a random walk starting at 0. This is great for testing when there is no real data in whisper.',
  params: [
    { name: 'name', type: 'string', required: true },
    { name: 'step', type: 'integer', default: 60 },
  ],
  run: (context, args) => randomWalk(context, args),
}));
