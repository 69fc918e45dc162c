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

/** carbon.util's UnitMultipliers: one letter each (carbon's loader, unlike whisper's, takes no `min` or `days`). */
const UNIT_SECONDS: Readonly<Record<string, number>> = {
  s: 1,
  m: 60,
  h: 3600,
  d: 86400,
  w: 86400 * 7,
  y: 86400 * 365,
};

function unitSeconds(unit: string, key: string, spec: string): number {
  const seconds = UNIT_SECONDS[unit];
  if (seconds === undefined) throw new ConfigError(key, `invalid unit '${unit}' in retention "${spec}"`);
  return seconds;
}

/**
 * carbon.util's parseRetentionDef: `precision:points`, precision in seconds or with a unit (`10s`, `1m`), points a
 * count or a duration (`7d`, divided by the precision and rounded down as carbon's Archive does). As `step:ttl`.
 */
export function carbonRetention(spec: string, key: string): string {
  const parts = /^([^:]*):([^:]*)$/.exec(spec.trim());
  if (!parts) throw new ConfigError(key, `invalid retention definition "${spec}"`);
  const [precisionText, pointsText] = [parts[1]!, parts[2]!];
  const withUnit = /^(\d+)([a-z]+)$/;
  let precision: number;
  if (/^\d+$/.test(precisionText)) precision = Number(precisionText);
  else {
    const match = withUnit.exec(precisionText);
    if (!match) throw new ConfigError(key, `invalid precision specification "${precisionText}" in "${spec}"`);
    precision = Number(match[1]) * unitSeconds(match[2]!, key, spec);
  }
  let points: number;
  if (/^\d+$/.test(pointsText)) points = Number(pointsText);
  else {
    const match = withUnit.exec(pointsText);
    if (!match) throw new ConfigError(key, `invalid retention specification "${pointsText}" in "${spec}"`);
    if (precision === 0) throw new ConfigError(key, `precision of "${spec}" is zero`);
    points = Math.floor((Number(match[1]) * unitSeconds(match[2]!, key, spec)) / precision);
  }
  if (precision <= 0 || points <= 0)
    throw new ConfigError(key, `"${spec}" must have a precision and a number of points above zero`);
  return `${precision}s:${precision * points}s`;
}

/** One `storage-schemas.conf` section: its pattern and its archives as `times` text. */
export interface StorageSchema {
  name: string;
  pattern: RegExp;
  times: string[];
  /** Names the section in errors, as `<key> (<path>): [section] line n`. */
  key: string;
}

/**
 * A `storage-schemas.conf` in file order (carbon's match order). carbon skips a section without `pattern` or
 * `retentions` with a log line and stops on a retention it cannot parse; carillon refuses both, naming the section.
 * carbon's own fallback (60s for 7 days) is not appended: series no section matches keep `times`.
 */
export function parseStorageSchemas(text: string, where: string): StorageSchema[] {
  return parseCarbonConf(text, where).map((section): StorageSchema => {
    const at = (name: string): string => {
      const option = section.options.get(name);
      return `${where}: [${section.name}] line ${option?.line ?? section.line}`;
    };
    const pattern = section.options.get('pattern')?.value;
    if (pattern === undefined || pattern === '') throw new ConfigError(at('pattern'), 'has no pattern');
    const retentions = section.options.get('retentions')?.value;
    if (retentions === undefined) throw new ConfigError(at('retentions'), 'has no retentions');
    let regexp: RegExp;
    try {
      regexp = new RegExp(pattern);
    } catch (error) {
      throw new ConfigError(at('pattern'), `pattern is not a valid regular expression: ${(error as Error).message}`);
    }
    return {
      name: section.name,
      pattern: regexp,
      times: retentions.split(',').map((spec) => carbonRetention(spec, at('retentions'))),
      key: at('retentions'),
    };
  });
}
