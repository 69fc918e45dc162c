/**
 * carbon-aggregator's `aggregation-rules.conf`: `output_template (frequency) = method input_pattern`, e.g.
 * `<env>.applications.<app>.all.requests (60) = sum <env>.applications.<app>.*.requests`. An input pattern is a
 * dotted path where `*` is any node, `<field>` captures one node and `<<field>>` captures across nodes; the output
 * names the captured fields. In carillon the relay (or the all-in-one) sends each matching point once more under
 * its output name, so the output has one owner and is aggregated there like any series; the node stores the
 * output's windows with the rule's method. That equals carbon-aggregator's value when the frequency is one of the
 * resolutions' steps: both combine every point of the interval (sum, avg, min, max). Percentiles and count need
 * every value and are refused.
 */
import type { AggregationMethod, AggregationRule } from './aggregation.js';
import { configKey } from './config-schema.js';
import { ConfigError } from './errors.js';
import { compileSafeRegex, type SafeRegex } from './safe-regex.js';

export const AGGREGATION_RULES_KEY = configKey.string({
  key: 'carbon.aggregation_rules',
  default: '',
  description:
    'path of a carbon-aggregator aggregation-rules.conf (output (frequency) = method input): the relay sends each matching point also as its output, and the node stores outputs with the rule\'s method; set it on relays and accumulators alike; "" for none',
});

const METHODS: Record<string, AggregationMethod> = { sum: 'sum', avg: 'average', min: 'min', max: 'max' };

export interface CarbonAggregationRule {
  line: number;
  output: string;
  frequency: number;
  method: AggregationMethod;
  input: string;
  /** carbon's regex of the input pattern (re.match, anchored at both ends). */
  regex: SafeRegex;
  fields: readonly string[];
}

function escapeRegex(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
}

/** The input pattern as carbon's build_regex makes it (literal parts are left as regex, as carbon does). */
function inputRegex(input: string): { pattern: string; fields: string[] } {
  const fields: string[] = [];
  const parts = input.split('.').map((part) => {
    const wide = /^(.*?)<<([^>]*)>>(.*)$/.exec(part);
    const narrow = /^(.*?)<([^>]*)>(.*)$/.exec(part);
    if (part.includes('<<') && part.includes('>>') && wide) {
      fields.push(wide[2]!);
      return `${wide[1]}(?P<${wide[2]}>.+?)${wide[3]}`;
    }
    if (narrow) {
      fields.push(narrow[2]!);
      return `${narrow[1]}(?P<${narrow[2]}>[^.]+?)${narrow[3]}`;
    }
    return part === '*' ? '[^.]+' : part.replaceAll('*', '[^.]*');
  });
  return { pattern: `^(?:${parts.join('\\.')})$`, fields };
}

/** `steps`: the resolutions' steps; a frequency must be one of them (see the module comment). */
export function parseCarbonAggregationRules(
  text: string,
  where: string,
  steps: readonly number[],
): CarbonAggregationRule[] {
  const rules: CarbonAggregationRule[] = [];
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line.startsWith('#') || line === '') continue;
    const at = `${where} line ${i + 1}`;
    const shape = /^(\S+)\s+\((\d+)\)\s*=\s*(\S+)\s+(\S+)$/.exec(line);
    if (!shape) throw new ConfigError(at, `"${line}" is not output_template (frequency) = method input_pattern`);
    const [, output, frequencyText, methodName, input] = shape as unknown as [string, string, string, string, string];
    const method = METHODS[methodName];
    if (method === undefined)
      throw new ConfigError(
        at,
        `method "${methodName}" is not one of ${Object.keys(METHODS).join(', ')} (carillon keeps a window's min, max, sum and count, not every value, so percentiles and count cannot be derived)`,
      );
    const frequency = Number(frequencyText);
    if (!steps.includes(frequency))
      throw new ConfigError(
        at,
        `frequency ${frequency} is not the step of a resolution in times (${steps.join(', ')} s): the output is aggregated on carillon's windows`,
      );
    const { pattern, fields } = inputRegex(input);
    let regex: SafeRegex;
    try {
      regex = compileSafeRegex(pattern);
    } catch (error) {
      throw new ConfigError(at, `input pattern "${input}" is not one RE2 runs: ${(error as Error).message}`);
    }
    const missing = [...output.matchAll(/<([^>]*)>/g)].map((m) => m[1]!).filter((f) => !fields.includes(f));
    if (missing.length > 0)
      throw new ConfigError(
        at,
        `output "${output}" names ${missing.map((f) => `<${f}>`).join(', ')}, not in the input`,
      );
    rules.push({ line: i + 1, output, frequency, method, input, regex, fields });
  }
  return rules;
}

/** The output name of `name` under `rule`, or undefined when the input pattern does not match it. */
export function aggregateNameOf(rule: CarbonAggregationRule, name: string): string | undefined {
  const fields = rule.regex.namedGroups(name);
  return fields && rule.output.replace(/<([^>]*)>/g, (_, field: string) => fields[field] ?? '');
}

/**
 * The node's storage rule for each output: its template as a pattern (a field as one or more characters), the
 * rule's method, carbon's xFilesFactor default. They come before every other aggregation rule.
 */
export function outputStorageRules(rules: readonly CarbonAggregationRule[]): AggregationRule[] {
  return rules.map((rule) => ({
    pattern: new RegExp(
      `^${rule.output
        .split(/<[^>]*>/)
        .map(escapeRegex)
        .join('.+')}$`,
    ),
    method: rule.method,
    xFilesFactor: 0.5,
  }));
}
