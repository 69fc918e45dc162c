/**
 * graphite-web's Graph group: styling for its PNG/SVG renderer. In JSON (all carillon answers) they pass the series
 * through, with the name and tag changes graphite-web makes.
 */
import { QueryError } from '../errors.js';
import { copySeries, makeSeries, withFields, type Series } from '../series.js';
import { parseTimeSpec } from '../time-spec.js';
import { pyG, pyStr } from './python-format.js';
import type { ParamSpec, RenderFunction } from './registry.js';
import { SPECIAL_FUNCTIONS } from './special.js';

const SERIES_LIST: ParamSpec = { name: 'seriesList', type: 'seriesList', required: true };

function passThrough(name: string, params: ParamSpec[], description: string): RenderFunction {
  return { name, group: 'Graph', description, params, run: (_context, args) => args.series('seriesList') };
}

export const GRAPH_FUNCTIONS: RenderFunction[] = [
  passThrough(
    'alpha',
    [SERIES_LIST, { name: 'alpha', type: 'float', required: true }],
    'Assigns the given alpha transparency setting to the series.',
  ),
  passThrough(
    'color',
    [SERIES_LIST, { name: 'theColor', type: 'string', required: true }],
    'Assigns the given color to the seriesList.',
  ),
  passThrough(
    'lineWidth',
    [SERIES_LIST, { name: 'width', type: 'float', required: true }],
    'Overrides the line width for the given series.',
  ),
  {
    name: 'dashed',
    group: 'Graph',
    description:
      'Takes one metric or a wildcard seriesList, followed by a float F: draws the series with a dotted line of segments F long.',
    params: [SERIES_LIST, { name: 'dashLength', type: 'integer', default: 5 }],
    run(_context, args) {
      const length = args.number('dashLength', 5);
      const text = args.has('dashLength') ? pyStr(length, args.isInt('dashLength')) : '5';
      return args
        .series('seriesList')
        .map((s) => withFields(s, { name: `dashed(${s.name}, ${pyG(length)})`, tags: { ...s.tags, dashed: text } }));
    },
  },
  {
    name: 'secondYAxis',
    group: 'Graph',
    description: 'Graph the series on the secondary Y axis.',
    params: [SERIES_LIST],
    run: (_context, args) =>
      args
        .series('seriesList')
        .map((s) => withFields(s, { name: `secondYAxis(${s.name})`, tags: { ...s.tags, secondYAxis: '1' } })),
  },
  {
    name: 'drawAsInfinite',
    group: 'Graph',
    description:
      'Takes one metric or a wildcard seriesList. If the value is zero, draw the line at 0; otherwise at infinity.',
    params: [SERIES_LIST],
    run: (_context, args) =>
      args
        .series('seriesList')
        .map((s) => withFields(s, { name: `drawAsInfinite(${s.name})`, tags: { ...s.tags, drawAsInfinite: '1' } })),
  },
  {
    name: 'threshold',
    group: 'Graph',
    description:
      'Takes a float F, followed by a label (in double quotes) and a color: draws a horizontal line at value F.',
    params: [
      { name: 'value', type: 'float', required: true },
      { name: 'label', type: 'string' },
      { name: 'color', type: 'string' },
    ],
    async run(context, args) {
      const [series] = await SPECIAL_FUNCTIONS.find((f) => f.name === 'constantLine')!.run(context, args);
      const label = args.optionalString('label');
      return [label ? { ...series!, name: label } : series!];
    },
  },
];

export const MORE_GRAPH_FUNCTIONS: RenderFunction[] = [
  {
    name: 'stacked',
    group: 'Graph',
    description: 'Takes one metric or a wildcard seriesList and change them so they are stacked.',
    params: [SERIES_LIST, { name: 'stack', type: 'string' }],
    run(context, args) {
      const stackName = args.optionalString('stack') ?? '__DEFAULT__';
      const totals = context.stack(stackName);
      return args.series('seriesList').map((s) => {
        const values = s.values.map((v, i) => {
          if (totals.length <= i) totals.push(0);
          if (v === null) return null;
          totals[i] = totals[i]! + v;
          return totals[i]!;
        });
        const tags = stackName === '__DEFAULT__' ? { ...s.tags, stacked: stackName } : { ...s.tags };
        const name = stackName === '__DEFAULT__' ? `stacked(${s.name})` : s.name;
        return copySeries({ ...s, tags }, { name, values });
      });
    },
  },
  {
    name: 'areaBetween',
    group: 'Graph',
    description: 'Draws the vertical area in between the two series in seriesList.',
    params: [SERIES_LIST],
    run(_context, args) {
      const list = args.series('seriesList');
      if (list.length !== 2) throw new QueryError('areaBetween series argument must reference *exactly* 2 series');
      const [lower, upper] = list as [Series, Series];
      const tags = { ...upper.tags, areaBetween: '1' };
      const name = `areaBetween(${upper.pathExpression})`;
      return [
        { ...lower, tags, name },
        { ...upper, tags: { ...tags }, name },
      ];
    },
  },
];

export const LINE_GRAPH_FUNCTIONS: RenderFunction[] = [
  {
    name: 'verticalLine',
    group: 'Graph',
    description:
      'Takes a timestamp string ts. Draws a vertical line at the designated timestamp with optional label and color.',
    params: [
      { name: 'ts', type: 'date', required: true },
      { name: 'label', type: 'string' },
      { name: 'color', type: 'string' },
    ],
    run(context, args) {
      const ts = parseTimeSpec(String(args.numberOrString('ts')), context.now);
      if (ts < context.startTime) throw new QueryError(`verticalLine(): timestamp ${ts} exists before start of range`);
      if (ts > context.endTime) throw new QueryError(`verticalLine(): timestamp ${ts} exists after end of range`);
      const label = args.optionalString('label');
      const name = label ?? 'None';
      return [
        {
          ...makeSeries({ name, start: ts, end: ts, step: 1, values: [1.0, 1.0], xFilesFactor: context.xFilesFactor }),
          tags: { name },
        },
      ];
    },
  },
];
