/**
 * carbon's rules on metric names, read from carbon's own files and applied in carbon's pipeline order: a name
 * matching `blacklist.conf` is refused (`blocked`), then, when `whitelist.conf` has patterns, a name matching none
 * is refused (`not_allowed`); `rewrite-rules.conf`'s `[pre]` rules rewrite it (each a Python `re.sub` over the whole
 * name), carbon-aggregator's `aggregation-rules.conf` adds its outputs (core/carbon-aggregation-rules.ts), and the
 * `[post]` rules rewrite them all. Patterns run on the linear-time engine: names come from clients.
 */
import {
  AGGREGATION_RULES_KEY,
  aggregateNameOf,
  compileSafeRegex,
  parseCarbonAggregationRules,
  type CarbonAggregationRule,
  ConfigError,
  readConfiguredFile,
  configKey,
  readSection,
  type ConfigSource,
  type SafeRegex,
} from '@carillon/core';
import { GraphiteFields, scanGraphiteFields } from './graphite-fields.js';
import type { LineHandler } from './lines.js';
import type { LineCounters } from './reasons.js';

export const KEY_RULES_KEYS = {
  rewriteRules: configKey.string({
    key: 'carbon.rewrite_rules',
    default: '',
    description:
      'path of a carbon rewrite-rules.conf: its [pre] then [post] rules (regex = replacement, Python\'s re.sub) rewrite every Graphite name before it is placed; "" for none',
  }),
  whitelist: configKey.string({
    key: 'carbon.whitelist',
    default: '',
    description:
      'path of a carbon whitelist.conf (one regex a line): when it has patterns, Graphite names matching none are refused as not_allowed; "" for none',
  }),
  blacklist: configKey.string({
    key: 'carbon.blacklist',
    default: '',
    description:
      'path of a carbon blacklist.conf (one regex a line): matching Graphite names are refused as blocked; "" for none',
  }),
} as const;

export interface RewriteRule {
  regex: SafeRegex;
  pattern: string;
  expand: Parameters<SafeRegex['replace']>[1];
}

export interface KeyRules {
  blacklist: readonly SafeRegex[];
  whitelist: readonly SafeRegex[];
  /** rewrite-rules.conf's `[pre]`, then `[post]`. */
  pre: readonly RewriteRule[];
  post: readonly RewriteRule[];
  /** carbon-aggregator's rules, between the two rewrites as in carbon's pipeline. */
  aggregate: readonly CarbonAggregationRule[];
}

/** `keys`: the names to send the point as; `forwarded`: the first is the point's own (rewritten) name. */
export type KeyVerdict = { keys: string[]; forwarded: boolean } | { refused: 'blocked' | 'not_allowed' };

const rewrite = (rules: readonly RewriteRule[], key: string): string =>
  rules.reduce((name, rule) => rule.regex.replace(name, rule.expand), key);

/**
 * What the rules make of `key`: the names to send the point as, or the refusal. The point goes on under its
 * (rewritten) name, as carbon-aggregator's FORWARD_ALL does, unless it is itself one of its outputs, and once
 * under each output of the aggregation rules it matches.
 */
export function applyKeyRules(rules: KeyRules, key: string): KeyVerdict {
  if (rules.blacklist.some((regex) => regex.test(key))) return { refused: 'blocked' };
  if (rules.whitelist.length > 0 && !rules.whitelist.some((regex) => regex.test(key)))
    return { refused: 'not_allowed' };
  const name = rewrite(rules.pre, key);
  const outputs: string[] = [];
  for (const rule of rules.aggregate) {
    const output = aggregateNameOf(rule, name);
    if (output !== undefined && !outputs.includes(output)) outputs.push(output);
  }
  const forwarded = !outputs.includes(name);
  return { keys: (forwarded ? [name, ...outputs] : outputs).map((n) => rewrite(rules.post, n)), forwarded };
}

export function hasKeyRules(rules: KeyRules): boolean {
  const { blacklist, whitelist, pre, post, aggregate } = rules;
  return blacklist.length + whitelist.length + pre.length + post.length + aggregate.length > 0;
}

function compile(pattern: string, where: string): SafeRegex {
  try {
    return compileSafeRegex(pattern);
  } catch (error) {
    throw new ConfigError(where, `"${pattern}" is not a regular expression RE2 runs: ${(error as Error).message}`);
  }
}

/** A carbon regex list: one pattern a line, `#` comment lines and blank lines skipped. */
export function parseRegexList(text: string, where: string): SafeRegex[] {
  const list: SafeRegex[] = [];
  for (const [i, line] of text.split(/\r?\n/).entries()) {
    const pattern = line.trim();
    if (line.startsWith('#') || pattern === '') continue;
    list.push(compile(pattern, `${where} line ${i + 1}`));
  }
  return list;
}

/**
 * Python's re.sub template: `\1`…`\99` and `\g<n>`/`\g<name>` insert groups (empty when the group took no
 * part), `\\`, `\n`, `\t`, `\r` and their kin are characters, another escaped ASCII letter is an error and any
 * other escape is kept as written.
 */
export function pythonTemplate(template: string, where: string): RewriteRule['expand'] {
  type Part = string | number | { name: string };
  const parts: Part[] = [];
  const escapes: Record<string, string> = { n: '\n', t: '\t', r: '\r', f: '\f', v: '\v', a: '\x07', b: '\b' };
  let text = '';
  for (let i = 0; i < template.length; i++) {
    const c = template[i]!;
    if (c !== '\\' || i + 1 === template.length) {
      text += c;
      continue;
    }
    const next = template[++i]!;
    const group = /^\d{1,2}/.exec(template.slice(i));
    const named = /^g<([^>]*)>/.exec(template.slice(i));
    if (group) {
      parts.push(text, Number(group[0]));
      text = '';
      i += group[0].length - 1;
    } else if (named) {
      parts.push(text, /^\d+$/.test(named[1]!) ? Number(named[1]) : { name: named[1]! });
      text = '';
      i += named[0].length - 1;
    } else if (next === '\\') text += '\\';
    else if (escapes[next] !== undefined) text += escapes[next];
    else if (/[A-Za-z]/.test(next))
      throw new ConfigError(where, `bad escape \\${next} in the replacement "${template}"`);
    else text += `\\${next}`;
  }
  parts.push(text);
  return (groups, namedGroups) =>
    parts
      .map((part) =>
        typeof part === 'string'
          ? part
          : typeof part === 'number'
            ? (groups[part] ?? '')
            : (namedGroups[part.name] ?? ''),
      )
      .join('');
}

/** A carbon rewrite-rules.conf: `[pre]` and `[post]` sections of `regex = replacement` lines, in file order. */
export function parseRewriteRules(text: string, where: string): { pre: RewriteRule[]; post: RewriteRule[] } {
  const sections = { pre: [] as RewriteRule[], post: [] as RewriteRule[] };
  let section: keyof typeof sections | undefined;
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    const at = `${where} line ${i + 1}`;
    if (line.startsWith('#') || line === '') continue;
    if (line.startsWith('[') && line.endsWith(']')) {
      const name = line.slice(1, -1).toLowerCase();
      if (name !== 'pre' && name !== 'post')
        throw new ConfigError(at, `[${name}]: carbon's sections are [pre] and [post]`);
      section = name;
      // carbon starts a section over when it appears again
      sections[section] = [];
      continue;
    }
    const equals = line.indexOf('=');
    if (equals < 0) throw new ConfigError(at, `"${line}" is neither a [section] nor pattern = replacement`);
    if (section === undefined) throw new ConfigError(at, `"${line}" comes before [pre] or [post]`);
    const pattern = line.slice(0, equals).trim();
    const replacement = line.slice(equals + 1).trim();
    sections[section].push({ pattern, regex: compile(pattern, at), expand: pythonTemplate(replacement, at) });
  }
  return sections;
}

/** `steps`: the resolutions' steps, which aggregation rules' frequencies must be among. */
export function readKeyRules(source: ConfigSource, steps: readonly number[]): KeyRules {
  // carbon.aggregation_rules is the node's too (for the outputs' methods): the schema lists it with the node's keys.
  const files = { ...readSection(source, KEY_RULES_KEYS), aggregationRules: source.read(AGGREGATION_RULES_KEY) };
  const text = (key: { key: string }, path: string): string => (path === '' ? '' : readConfiguredFile(key.key, path));
  const where = (key: { key: string }, path: string): string => `${key.key} (${path})`;
  const { pre, post } = parseRewriteRules(
    text(KEY_RULES_KEYS.rewriteRules, files.rewriteRules),
    where(KEY_RULES_KEYS.rewriteRules, files.rewriteRules),
  );
  return {
    blacklist: parseRegexList(
      text(KEY_RULES_KEYS.blacklist, files.blacklist),
      where(KEY_RULES_KEYS.blacklist, files.blacklist),
    ),
    whitelist: parseRegexList(
      text(KEY_RULES_KEYS.whitelist, files.whitelist),
      where(KEY_RULES_KEYS.whitelist, files.whitelist),
    ),
    pre,
    post,
    aggregate: parseCarbonAggregationRules(
      text(AGGREGATION_RULES_KEY, files.aggregationRules),
      where(AGGREGATION_RULES_KEY, files.aggregationRules),
      steps,
    ),
  };
}

/**
 * `onLine` behind the rules, for Graphite lines (plaintext, and pickle's points as lines): a refused line is
 * counted on `counters` and goes no further; a rewritten one is handed on with its new name and the rest of the
 * line as it was. Lines without a key pass through for the parser to refuse.
 */
export function withKeyRules(rules: KeyRules, counters: LineCounters, onLine: LineHandler): LineHandler {
  if (!hasKeyRules(rules)) return onLine;
  const fields = new GraphiteFields();
  // An output is a line nobody sent: whoever parses counts it accepted too, so it is counted here as made.
  const generated = counters.registry
    .counter('lines_generated_total', 'Lines made by aggregation rules from received ones (also counted as accepted)', [
      'protocol',
    ])
    .labels(counters.protocol);
  return (buf, start, end) => {
    scanGraphiteFields(buf, start, end, fields);
    const { keyStart, keyEnd } = fields;
    if (keyStart === keyEnd) return onLine(buf, start, end);
    const key = Buffer.from(buf.buffer, buf.byteOffset + keyStart, keyEnd - keyStart).toString('utf8');
    const verdict = applyKeyRules(rules, key);
    if ('refused' in verdict) return counters.reject(verdict.refused);
    for (const [i, name] of verdict.keys.entries()) {
      if (i > 0 || !verdict.forwarded) generated.inc();
      if (name === key) onLine(buf, start, end);
      else {
        const line = Buffer.concat([Buffer.from(name, 'utf8'), buf.subarray(keyEnd, end)]);
        onLine(line, 0, line.length);
      }
    }
  };
}
