/**
 * InfluxDB line protocol from StatPoints: `<measurement>[,tags] <field>=<value>,… <time ns>`. The measurement is
 * the Graphite path (or its first `measurementNodes` nodes, the rest then a tag), the series' tags and the static
 * tags become tags, a `resolution` tag keeps the resolutions apart, and the chosen StatPoint values are fields.
 */
import { splitCanonical } from '@carillon/core';
import { secondsToNs, type PointRow } from '../rows.js';

export const LINE_FIELDS = ['sum', 'mean', 'min', 'max', 'first', 'last', 'count'] as const;
export type LineField = (typeof LINE_FIELDS)[number];

export interface LineMapping {
  measurementNodes: number;
  restTag: string;
  resolutionTag: string;
  fields: readonly LineField[];
  /** `k=v` pairs added to every point. */
  staticTags: readonly (readonly [string, string])[];
}

const escapeMeasurement = (s: string): string => s.replace(/[\\, ]/g, (c) => `\\${c}`);
const escapeTag = (s: string): string => s.replace(/[\\,= ]/g, (c) => `\\${c}`);

export class LineFormatter {
  /** Series name → its measurement and tag part, computed once per series. */
  private readonly heads = new Map<string, string>();

  constructor(private readonly mapping: LineMapping) {}

  private head(name: string, step: number): string {
    const cacheKey = `${step} ${name}`;
    let head = this.heads.get(cacheKey);
    if (head !== undefined) return head;
    const key = splitCanonical(name);
    const nodes = key.path.split('.');
    const m = this.mapping;
    const cut = m.measurementNodes === 0 ? nodes.length : Math.min(m.measurementNodes, nodes.length);
    const tags: [string, string][] = [...m.staticTags.map(([k, v]): [string, string] => [k, v])];
    for (const [k, v] of key.tags) tags.push([k, v]);
    if (cut < nodes.length) tags.push([m.restTag, nodes.slice(cut).join('.')]);
    if (m.resolutionTag !== '') tags.push([m.resolutionTag, `${step}s`]);
    head = escapeMeasurement(nodes.slice(0, cut).join('.'));
    for (const [k, v] of tags) head += `,${escapeTag(k)}=${escapeTag(v)}`;
    if (this.heads.size > 100_000) this.heads.clear();
    this.heads.set(cacheKey, head);
    return head;
  }

  line(row: PointRow): string {
    const fields = this.mapping.fields.map((f) => `${f}=${formatFloat(row[f])}`).join(',');
    return `${this.head(row.name, row.step)} ${fields} ${secondsToNs(row.time)}\n`;
  }
}

/** A float field value: always with a decimal part or exponent, so integral values stay floats in InfluxDB. */
function formatFloat(value: number): string {
  const text = String(value);
  return /[.eE]/.test(text) ? text : `${text}.0`;
}
