import { QueryError } from '../errors.js';
import type { RenderContext } from '../render-context.js';
import type { Series } from '../series.js';
import type { TargetExpression } from '../target-expression.js';
import { RENDER_FUNCTIONS } from './index.js';
import { bindArgs, type ArgValue, type EvaluatedArg } from './registry.js';

/** Evaluates one parsed expression as graphite-web's evaluateTokens does: arguments first, left to right. */
export async function evaluateExpression(expression: TargetExpression, context: RenderContext): Promise<ArgValue> {
  switch (expression.kind) {
    case 'path':
      return context.fetch(expression.path);
    case 'string':
    case 'number':
    case 'boolean':
      return expression.value;
    case 'none':
      return null;
    case 'call':
      return evaluateCall(expression, context);
  }
}

async function evaluateCall(
  call: Extract<TargetExpression, { kind: 'call' }>,
  context: RenderContext,
): Promise<Series[]> {
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
  for (const expression of call.args) args.push({ value: await evaluateExpression(expression, context), expression });
  const kwargs = new Map<string, EvaluatedArg>();
  for (const { name, value } of call.kwargs)
    kwargs.set(name, { value: await evaluateExpression(value, context), expression: value });
  return fn.run(context, bindArgs(fn, args, kwargs));
}

/** A whole target: its series (a literal target is refused, as it draws nothing). */
export async function evaluateTarget(expression: TargetExpression, context: RenderContext): Promise<Series[]> {
  const value = await evaluateExpression(expression, context);
  if (!Array.isArray(value)) throw new QueryError('a target must be a series path or a function call');
  return value;
}
