import { QueryError } from '../errors.js';
import type { RenderContext } from '../render-context.js';
import type { Series } from '../series.js';
import type { TargetExpression } from '../target-expression.js';

/** graphite-web's ParamTypes, by the names its /functions reports. */
export type ParamType =
  | 'aggFunc'
  | 'aggOrSeriesFunc'
  | 'any'
  | 'boolean'
  | 'date'
  | 'float'
  | 'integer'
  | 'interval'
  | 'intOrInterval'
  | 'intOrInf'
  | 'node'
  | 'nodeOrTag'
  | 'series'
  | 'seriesList'
  | 'seriesLists'
  | 'string'
  | 'tag';

export type Scalar = string | number | boolean;

/** One parameter as graphite-web's Param.toJSON describes it. */
export interface ParamSpec {
  name: string;
  type: ParamType;
  required?: boolean;
  default?: Scalar;
  multiple?: boolean;
  options?: readonly (Scalar | null)[];
  suggestions?: readonly Scalar[];
}

/** An evaluated argument: a series list, or a literal (None is null). */
export type ArgValue = Series[] | Scalar | null;

export type FunctionGroup =
  'Alias' | 'Calculate' | 'Combine' | 'Filter Data' | 'Filter Series' | 'Graph' | 'Sorting' | 'Special' | 'Transform';

/** A render function: graphite-web's name, group and params (for /functions), and what it does. */
export interface RenderFunction {
  name: string;
  group: FunctionGroup;
  description: string;
  params: readonly ParamSpec[];
  run(context: RenderContext, args: Args): Promise<Series[]> | Series[];
}

/**
 * The arguments of one call bound to its params as Python binds func(requestContext, *args, **kwargs): positional
 * in order, the rest of them to a `multiple` last param, keywords by name. Typed getters check each value.
 */
export class Args {
  constructor(
    readonly fn: string,
    private readonly values: ReadonlyMap<string, ArgValue[]>,
    private readonly expressions: ReadonlyMap<string, TargetExpression[]>,
    /** The unevaluated positional arguments, for functions that evaluate them again over another range. */
    readonly raw: readonly TargetExpression[],
    private readonly floatParams: ReadonlySet<string> = new Set(),
  ) {}

  /** Whether Python holds the argument as an int (a literal without a decimal point): str() and %s differ. */
  isInt(param: string): boolean {
    // graphite-web's validateParams turns an int given for a float param into a float
    if (this.floatParams.has(param)) return false;
    const expression = this.expressions.get(param)?.[0];
    return expression?.kind === 'number' && expression.integer;
  }

  private fail(param: string, what: string): never {
    throw new QueryError(`${this.fn}: parameter "${param}" ${what}`);
  }

  has(param: string): boolean {
    const value = this.values.get(param);
    return value !== undefined && value.length > 0 && value[0] !== null;
  }

  private one(param: string): ArgValue | undefined {
    const value = this.values.get(param);
    return value === undefined || value.length === 0 ? undefined : value[0];
  }

  /** A series list (one argument). */
  series(param: string): Series[] {
    const value = this.one(param);
    if (!Array.isArray(value)) this.fail(param, 'must be a series list');
    return value;
  }

  /** Every series of a `multiple` series-list param, in argument order. */
  seriesLists(param: string): Series[][] {
    const values = this.values.get(param) ?? [];
    return values.map((value) => {
      if (!Array.isArray(value)) this.fail(param, 'must be series lists');
      return value;
    });
  }

  number(param: string, fallback?: number): number {
    const value = this.one(param);
    if ((value === undefined || value === null) && fallback !== undefined) return fallback;
    if (typeof value !== 'number') this.fail(param, 'must be a number');
    return value;
  }

  optionalNumber(param: string): number | null {
    const value = this.one(param);
    if (value === undefined || value === null) return null;
    if (typeof value !== 'number') this.fail(param, 'must be a number');
    return value;
  }

  integer(param: string, fallback?: number): number {
    const value = this.number(param, fallback);
    if (!Number.isInteger(value)) this.fail(param, 'must be an integer');
    return value;
  }

  string(param: string, fallback?: string): string {
    const value = this.one(param);
    if ((value === undefined || value === null) && fallback !== undefined) return fallback;
    if (typeof value !== 'string') this.fail(param, 'must be a quoted string');
    return value;
  }

  optionalString(param: string): string | null {
    const value = this.one(param);
    if (value === undefined || value === null) return null;
    if (typeof value !== 'string') this.fail(param, 'must be a quoted string');
    return value;
  }

  boolean(param: string, fallback: boolean): boolean {
    const value = this.one(param);
    if (value === undefined || value === null) return fallback;
    if (typeof value === 'boolean') return value;
    if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
    if (typeof value === 'number') return value !== 0;
    this.fail(param, 'must be true or false');
  }

  /** A number or a quoted interval (`'5min'`), as intOrInterval params take. */
  numberOrString(param: string, fallback?: number | string): number | string {
    const value = this.one(param);
    if ((value === undefined || value === null) && fallback !== undefined) return fallback;
    if (typeof value !== 'number' && typeof value !== 'string') this.fail(param, 'must be a number or a string');
    return value;
  }

  /** The scalar values of a `multiple` param (nodes, tags). */
  scalars(param: string): Scalar[] {
    return (this.values.get(param) ?? []).map((value) => {
      if (value === null || Array.isArray(value)) this.fail(param, 'must be numbers or strings');
      return value;
    });
  }

  /** Any value, unchecked, for params graphite-web types as `any`. */
  raw0(param: string): ArgValue | undefined {
    return this.one(param);
  }
}

export interface EvaluatedArg {
  value: ArgValue;
  expression: TargetExpression;
}

export function bindArgs(
  fn: RenderFunction,
  args: readonly EvaluatedArg[],
  kwargs: ReadonlyMap<string, EvaluatedArg>,
): Args {
  const { params } = fn;
  const values = new Map<string, ArgValue[]>();
  const expressions = new Map<string, TargetExpression[]>();
  const add = (name: string, arg: EvaluatedArg) => {
    values.set(name, [...(values.get(name) ?? []), arg.value]);
    expressions.set(name, [...(expressions.get(name) ?? []), arg.expression]);
  };
  args.forEach((arg, i) => {
    const param = i < params.length ? params[i]! : params[params.length - 1];
    if (!param || (i >= params.length && !param.multiple))
      throw new QueryError(`too many parameters for function "${fn.name}"`);
    add(param.name, arg);
  });
  for (const [name, arg] of kwargs) {
    const param = params.find((p) => p.name === name);
    if (!param) throw new QueryError(`${fn.name}: unexpected keyword argument "${name}"`);
    if (values.has(name)) throw new QueryError(`${fn.name}: "${name}" given twice`);
    add(name, arg);
  }
  for (const param of params)
    if (param.required && !values.has(param.name))
      throw new QueryError(`missing required parameter "${param.name}" for function "${fn.name}"`);
  return new Args(
    fn.name,
    values,
    expressions,
    args.map((a) => a.expression),
    new Set(params.filter((p) => p.type === 'float').map((p) => p.name)),
  );
}
