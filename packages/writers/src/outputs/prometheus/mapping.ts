/**
 * Graphite series → Prometheus series. A rule matches the path by a glob (`*` is one node, `**` one or more
 * nodes) and names the metric and labels by templates over the captured nodes (`$1`, `${2}`); the series' tags
 * are labels too (a rule's label of the same name wins). Without a matching rule the name is the path with every
 * character outside `[a-zA-Z0-9_:]` as `_`. A result that is not a valid Prometheus name is refused (counted).
 */
import { ConfigError, splitCanonical } from '@carillon/core';

export interface MappingRule {
  match: string;
  name: string;
  labels: Readonly<Record<string, string>>;
}

export interface CompiledRule {
  pattern: RegExp;
  name: string;
  labels: readonly (readonly [string, string])[];
}

export interface PromSeries {
  name: string;
  /** Sorted by label name. */
  labels: [string, string][];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** `servers.*.cpu.**` → `^servers\.([^.]+)\.cpu\.(.+)$`: each node a capture, no backtracking across dots. */
export function globToRegExp(glob: string): RegExp {
  const nodes = glob.split('.').map((node) => {
    if (node === '**') return '(.+)';
    return node.split('*').map(escapeRegExp).join('([^.]*)');
  });
  return new RegExp(`^${nodes.join('\\.')}$`);
}

export function compileRules(rules: readonly MappingRule[], key: string): CompiledRule[] {
  return rules.map((rule, i) => {
    const itemKey = `${key}[${i}]`;
    if (typeof rule.match !== 'string' || rule.match === '') throw new ConfigError(`${itemKey}.match`, 'needs a glob');
    if (typeof rule.name !== 'string' || rule.name === '')
      throw new ConfigError(`${itemKey}.name`, 'needs a name template');
    for (const label of Object.keys(rule.labels))
      if (!LABEL_NAME.test(label) || label.startsWith('__'))
        throw new ConfigError(`${itemKey}.labels`, `"${label}" is not a Prometheus label name`);
    return { pattern: globToRegExp(rule.match), name: rule.name, labels: Object.entries(rule.labels) };
  });
}

function expand(template: string, groups: readonly string[]): string {
  return template.replace(/\$\{(\d+)\}|\$(\d+)/g, (_, braced: string | undefined, bare: string | undefined) => {
    return groups[Number(braced ?? bare)] ?? '';
  });
}

export function sanitizeName(text: string): string {
  const name = text.replace(/[^a-zA-Z0-9_:]/g, '_');
  return /^[0-9]/.test(name) ? `_${name}` : name;
}

function sanitizeLabel(text: string): string {
  const name = text.replace(/[^a-zA-Z0-9_]/g, '_');
  return /^[0-9]/.test(name) || name.startsWith('__') ? `_${name.replace(/^_+/, '')}` : name;
}

/** The Prometheus series of a canonical Graphite name, or undefined when the mapped name is not valid. */
export function mapSeries(canonical: string, rules: readonly CompiledRule[]): PromSeries | undefined {
  const { path, tags } = splitCanonical(canonical);
  const labels = new Map<string, string>();
  for (const [name, value] of tags) labels.set(sanitizeLabel(name), value);
  let name: string | undefined;
  for (const rule of rules) {
    const match = rule.pattern.exec(path);
    if (!match) continue;
    name = expand(rule.name, match);
    for (const [label, template] of rule.labels) labels.set(label, expand(template, match));
    break;
  }
  name ??= sanitizeName(path);
  if (!METRIC_NAME.test(name)) return undefined;
  for (const [label, value] of labels) if (value === '') labels.delete(label);
  return { name, labels: [...labels.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)) };
}

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** `name{a="x",b="y"}` as in the exposition format; also the series' identity. */
export function seriesText(series: PromSeries): string {
  if (series.labels.length === 0) return series.name;
  return `${series.name}{${series.labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',')}}`;
}
