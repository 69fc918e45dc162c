/**
 * Per-pattern retention: which resolutions a series is *stored* at, chosen by its path, first match wins, the
 * global `times` for the rest — carbon's storage-schemas.conf.
 *
 * The model: the aggregator computes every resolution of the global `times` for every series (the flush interval,
 * the exact rollups and the ring step stay those of `times`); a rule picks which of those steps a series keeps and
 * for how long. So a rule's steps must each be a step of `times` — then every stored value is an exact window of
 * the aggregator, never a rollup of rollups, and the ring step (the coarsest step of `times`) covers every rule.
 */
import { splitCanonical } from './key.js';
import { ConfigError } from './errors.js';
import { parseResolutions, type Resolution } from './resolution.js';
import { formatDuration } from './time.js';

export interface RetentionRule {
  pattern: RegExp;
  /**
   * Finest first, steps growing by whole multiples (parseResolutions). `index` is that of the `times` resolution of
   * the same step (the window the aggregator computes), not the position in the rule.
   */
  resolutions: readonly Resolution[];
}

/** A rule as written, before it is checked against `times`: `key` names it in errors. */
export interface RetentionSpec {
  pattern: RegExp;
  times: readonly string[];
  key: string;
}

/** Parses `[[retention]]`: `[{ pattern, times }]`. */
export function parseRetentionSpecs(value: unknown, key = 'retention'): RetentionSpec[] {
  if (!Array.isArray(value)) throw new ConfigError(key, 'must be a list of { pattern, times }');
  return value.map((raw: unknown, i): RetentionSpec => {
    const itemKey = `${key}[${i}]`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
      throw new ConfigError(itemKey, 'must be a table');
    const table = raw as Record<string, unknown>;
    for (const name of Object.keys(table))
      if (name !== 'pattern' && name !== 'times') throw new ConfigError(`${itemKey}.${name}`, 'unknown option');
    const { pattern, times } = table;
    if (typeof pattern !== 'string') throw new ConfigError(`${itemKey}.pattern`, 'must be a regular expression string');
    if (!Array.isArray(times) || !times.every((t) => typeof t === 'string'))
      throw new ConfigError(`${itemKey}.times`, 'must be a list like ["10s:168h", "1m:720h"]');
    return {
      pattern: compilePattern(pattern, `${itemKey}.pattern`),
      times: times as string[],
      key: `${itemKey}.times`,
    };
  });
}

export function compilePattern(pattern: string, key: string): RegExp {
  try {
    return new RegExp(pattern);
  } catch (error) {
    throw new ConfigError(key, `is not a valid regular expression: ${(error as Error).message}`);
  }
}

/**
 * The rules `specs` stand for under the computed resolutions `times`, with `times` itself appended as the default.
 * Refused, naming the rule's key: the validation of `times` (parseResolutions), a step that is no step of `times`
 * (the aggregator would have no exact window for it), a retention that is no whole number of steps (a whisper
 * archive holds whole points).
 */
export function retentionRules(specs: readonly RetentionSpec[], times: readonly Resolution[]): RetentionRule[] {
  const byStep = new Map(times.map((r) => [r.step, r]));
  const steps = times.map((r) => formatDuration(r.step)).join(', ');
  const rules = specs.map((spec): RetentionRule => {
    const parsed = parseResolutions(spec.times, spec.key);
    return {
      pattern: spec.pattern,
      resolutions: parsed.map((r, i) => {
        const computed = byStep.get(r.step);
        if (computed === undefined)
          throw new ConfigError(
            `${spec.key}[${i}]`,
            `step ${formatDuration(r.step)} is not one of the steps of times (${steps}): carillon computes only those windows; add it to times`,
          );
        if (r.ttl % r.step !== 0)
          throw new ConfigError(`${spec.key}[${i}]`, `retention of ${r.name} is not a whole number of steps`);
        return { ...r, index: computed.index };
      }),
    };
  });
  return [...rules, { pattern: /(?:)/, resolutions: times }];
}

/** The resolutions `name` is stored at: the first rule whose pattern matches its path (tags ignored). */
export function retentionFor(name: string, rules: readonly RetentionRule[]): readonly Resolution[] {
  const path = splitCanonical(name).path;
  for (const rule of rules) if (rule.pattern.test(path)) return rule.resolutions;
  return rules[rules.length - 1]!.resolutions;
}

/** True when some series may keep other resolutions than `times` (more than the default rule). */
export function hasRetentionRules(rules: readonly RetentionRule[]): boolean {
  return rules.length > 1;
}
