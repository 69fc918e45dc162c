import { QueryError } from '../errors.js';
import type { RenderContext } from '../render-context.js';
import type { Series } from '../series.js';
import type { TargetExpression } from '../target-expression.js';
import { RENDER_FUNCTIONS } from './index.js';
import { pyStr } from './python-format.js';
import { bindArgs, type ArgValue, type EvaluatedArg } from './registry.js';

/** template()'s values by name (`1`, `2`... for positional ones), substituted for `$name` in path expressions. */
type Replacements = ReadonlyMap<string, string | number>;

/**
 * Evaluates one parsed expression as graphite-web's evaluateTokens does: arguments first, left to right; inside
 * template(), a path that is exactly `$name` is that value, and `$name` elsewhere in a path is replaced by it.
 */
export async function evaluateExpression(
  expression: TargetExpression,
  context: RenderContext,
  replacements?: Replacements,
): Promise<ArgValue> {
  switch (expression.kind) {
    case 'path': {
      let path = expression.path;
      for (const [name, value] of replacements ?? []) {
        if (path === `$${name}`) return typeof value === 'string' && /^-?[\d.]+$/.test(value) ? Number(value) : value;
        path = path.replaceAll(`$${name}`, typeof value === 'number' ? String(value) : value);
      }
      return context.fetch(path);
    }
    case 'string':
    case 'number':
    case 'boolean':
      return expression.value;
    case 'none':
      return null;
    case 'call':
      return evaluateCall(expression, context, replacements);
  }
}

/** template(expression, literals...): the expression evaluated with the literals (and the request's) as values. */
async function evaluateTemplate(
  call: Extract<TargetExpression, { kind: 'call' }>,
  context: RenderContext,
): Promise<Series[]> {
  const [inner, ...literals] = call.args;
  // numbers as Python's str() writes them into a path
  const literal = (e: TargetExpression): string => {
    if (e.kind === 'number') return pyStr(e.value, e.integer);
    if (e.kind === 'string') return e.value;
    throw new QueryError('invalid template() syntax, only string/numeric arguments are allowed');
  };
  if (!inner || (inner.kind !== 'call' && inner.kind !== 'path'))
    throw new QueryError('invalid template() syntax, only string/numeric arguments are allowed');
  const values = new Map<string, string | number>();
  for (const { name, value } of call.kwargs) values.set(name, literal(value));
  literals.forEach((e, i) => values.set(String(i + 1), literal(e)));
  for (const [name, value] of context.shared.template ?? []) values.set(name, value);
  const result = await evaluateExpression(inner, context, values);
  if (!Array.isArray(result)) throw new QueryError('template() must hold a series path or a function call');
  return result;
}

async function evaluateCall(
  call: Extract<TargetExpression, { kind: 'call' }>,
  context: RenderContext,
  replacements?: Replacements,
): Promise<Series[]> {
  if (call.name === 'template') return evaluateTemplate(call, context);
  if (call.name === 'seriesByTag') {
    const expressions = call.args.map((arg) => {
      if (arg.kind !== 'string') throw new QueryError('seriesByTag: each tag expression must be a quoted string');
      return arg.value;
    });
    if (expressions.length === 0) throw new QueryError('seriesByTag needs at least one tag expression');
    return context.fetchTagged(call.raw, expressions);
  }
  const fn = RENDER_FUNCTIONS.get(call.name);
  if (!fn) throw new QueryError(`unknown function "${call.name}" at character ${call.position + 1}`);
  const args: EvaluatedArg[] = [];
  for (const expression of call.args)
    args.push({ value: await evaluateExpression(expression, context, replacements), expression });
  const kwargs = new Map<string, EvaluatedArg>();
  for (const { name, value } of call.kwargs)
    kwargs.set(name, { value: await evaluateExpression(value, context, replacements), expression: value });
  return fn.run(context, bindArgs(fn, args, kwargs));
}

/** A whole target: its series (a literal target is refused, as it draws nothing). */
export async function evaluateTarget(expression: TargetExpression, context: RenderContext): Promise<Series[]> {
  const value = await evaluateExpression(expression, context);
  if (!Array.isArray(value)) throw new QueryError('a target must be a series path or a function call');
  return value;
}
