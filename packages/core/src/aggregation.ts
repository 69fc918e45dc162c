import { ConfigError } from './errors.js';
import type { StatPoint } from './statpoint.js';

/**
 * How one stored value is derived from a StatPoint, chosen by the series name the way carbon's
 * storage-aggregation.conf does. Used by the whisper store and by every reader.
 */
export type AggregationMethod = 'average' | 'sum' | 'min' | 'max' | 'last';

export const AGGREGATION_METHODS: readonly AggregationMethod[] = ['average', 'sum', 'min', 'max', 'last'];

export interface AggregationRule {
  pattern: RegExp;
  method: AggregationMethod;
  /** Fraction of finer points that must be known for a coarser point to be stored (whisper's xFilesFactor). */
  xFilesFactor: number;
}

/** Matched against the path (tags ignored), first match wins; anything else is averaged. */
export const DEFAULT_AGGREGATION_RULES: readonly AggregationRule[] = [
  { pattern: /^stats_counts\./, method: 'sum', xFilesFactor: 0 },
  { pattern: /\.(count|requests|errors|sum)$/, method: 'sum', xFilesFactor: 0 },
  { pattern: /\.(max|upper(_\d+)?)$/, method: 'max', xFilesFactor: 0.1 },
  { pattern: /\.(min|lower(_\d+)?)$/, method: 'min', xFilesFactor: 0.1 },
  { pattern: /(^|\.)gauges\./, method: 'last', xFilesFactor: 0 },
];

export const DEFAULT_RULE: AggregationRule = { pattern: /.*/, method: 'average', xFilesFactor: 0.5 };

/** Parses `[{ pattern, method, xFilesFactor }]` from config; the default rule is always appended. */
export function parseAggregationRules(value: unknown, key = 'aggregation'): AggregationRule[] {
  if (!Array.isArray(value)) throw new ConfigError(key, 'must be a list of { pattern, method, xFilesFactor }');
  const rules = value.map((raw: unknown, i): AggregationRule => {
    const itemKey = `${key}[${i}]`;
    if (typeof raw !== 'object' || raw === null) throw new ConfigError(itemKey, 'must be a table');
    const { pattern, method, xFilesFactor = 0.5 } = raw as Record<string, unknown>;
    if (typeof pattern !== 'string') throw new ConfigError(`${itemKey}.pattern`, 'must be a regular expression string');
    let regexp: RegExp;
    try {
      regexp = new RegExp(pattern);
    } catch (error) {
      throw new ConfigError(`${itemKey}.pattern`, `is not a valid regular expression: ${(error as Error).message}`);
    }
    if (!AGGREGATION_METHODS.includes(method as AggregationMethod))
      throw new ConfigError(`${itemKey}.method`, `must be one of ${AGGREGATION_METHODS.join(', ')}`);
    if (typeof xFilesFactor !== 'number' || xFilesFactor < 0 || xFilesFactor > 1)
      throw new ConfigError(`${itemKey}.xFilesFactor`, 'must be a number from 0 to 1');
    return { pattern: regexp, method: method as AggregationMethod, xFilesFactor };
  });
  return [...rules, DEFAULT_RULE];
}

export function aggregationRuleFor(
  path: string,
  rules: readonly AggregationRule[] = DEFAULT_AGGREGATION_RULES,
): AggregationRule {
  for (const rule of rules) if (rule.pattern.test(path)) return rule;
  return DEFAULT_RULE;
}

/** The single value a StatPoint stands for under `method`. */
export function valueOf(point: StatPoint, method: AggregationMethod): number {
  switch (method) {
    case 'average':
      return point.sum / point.count;
    case 'sum':
      return point.sum;
    case 'min':
      return point.min;
    case 'max':
      return point.max;
    case 'last':
      return point.last;
  }
}
