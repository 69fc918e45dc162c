/**
 * carbon's own config files (`storage-aggregation.conf` and its kin), read as carbon reads them: Python's
 * ConfigParser syntax — `[section]`, `key = value` or `key: value`, option names case-insensitive, `#` and `;`
 * comment lines, indented lines continuing the value before them — in file order, which is carbon's match order.
 */
import { AGGREGATION_METHODS, DEFAULT_RULE, type AggregationMethod, type AggregationRule } from './aggregation.js';
import { ConfigError } from './errors.js';

export interface CarbonSection {
  name: string;
  /** 1-based line of the `[section]` header. */
  line: number;
  /** Option names lower-cased, as ConfigParser's optionxform does. */
  options: Map<string, { value: string; line: number }>;
}

/** `where` names the file in errors (`<key> (<path>)`). */
export function parseCarbonConf(text: string, where: string): CarbonSection[] {
  const sections: CarbonSection[] = [];
  let last: { value: string; line: number; name: string } | undefined;
  const lines = text.split(/\r?\n/);
  for (const [i, raw] of lines.entries()) {
    const line = i + 1;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#') || trimmed.startsWith(';')) continue;
    const section = sections[sections.length - 1];
    if (/^\s/.test(raw) && last !== undefined && section !== undefined) {
      last.value = `${last.value}\n${trimmed}`;
      section.options.set(last.name, { value: last.value, line: last.line });
      continue;
    }
    const header = /^\[([^\]]+)\]$/.exec(trimmed);
    if (header) {
      if (sections.some((s) => s.name === header[1]))
        throw new ConfigError(where, `line ${line}: section [${header[1]}] appears twice`);
      sections.push({ name: header[1]!, line, options: new Map() });
      last = undefined;
      continue;
    }
    const option = /^([^=:]+?)\s*[=:]\s*(.*)$/.exec(trimmed);
    if (!option) throw new ConfigError(where, `line ${line}: "${trimmed}" is neither [section] nor key = value`);
    if (section === undefined) throw new ConfigError(where, `line ${line}: "${trimmed}" comes before any [section]`);
    const name = option[1]!.toLowerCase();
    last = { name, value: option[2]!, line };
    section.options.set(name, { value: last.value, line });
  }
  return sections;
}

/**
 * carbon's `aggregationMethod`s carillon derives from a window's {min, max, sum, count, first, last}; carbon's
 * `avg_zero`, `absmax` and `absmin` need every value of the window (or its empty slots) and are refused.
 */
const DERIVABLE = new Set<string>(AGGREGATION_METHODS);

/** A `storage-aggregation.conf` as aggregation rules, first match wins, carbon's default (average, 0.5) last. */
export function parseStorageAggregation(text: string, where: string): AggregationRule[] {
  const rules = parseCarbonConf(text, where).map((section): AggregationRule => {
    const at = (name: string): string => {
      const option = section.options.get(name.toLowerCase());
      return `${where}: [${section.name}] line ${option?.line ?? section.line}`;
    };
    const pattern = section.options.get('pattern')?.value;
    if (pattern === undefined) throw new ConfigError(at('pattern'), 'has no pattern');
    let regexp: RegExp;
    try {
      regexp = new RegExp(pattern);
    } catch (error) {
      throw new ConfigError(at('pattern'), `pattern is not a valid regular expression: ${(error as Error).message}`);
    }
    const method = section.options.get('aggregationmethod')?.value ?? DEFAULT_RULE.method;
    if (!DERIVABLE.has(method))
      throw new ConfigError(
        at('aggregationMethod'),
        `aggregationMethod "${method}" is not one of ${AGGREGATION_METHODS.join(', ')} (carillon stores a value derived from the window's min, max, sum, count, first and last; avg_zero, absmax and absmin need every value)`,
      );
    const factorText = section.options.get('xfilesfactor')?.value;
    const xFilesFactor = factorText === undefined ? DEFAULT_RULE.xFilesFactor : Number(factorText);
    if (
      factorText === undefined
        ? false
        : !/^\s*[\d.eE+-]+\s*$/.test(factorText) || !(xFilesFactor >= 0 && xFilesFactor <= 1)
    )
      throw new ConfigError(at('xFilesFactor'), `xFilesFactor "${factorText}" must be a number from 0 to 1`);
    return { pattern: regexp, method: method as AggregationMethod, xFilesFactor };
  });
  return [...rules, DEFAULT_RULE];
}
