/**
 * Compares two /render?format=json answers: every series in order, its name, tags, and every datapoint's
 * timestamp and value. Values are equal, or within 1e-9 relative where Python and JavaScript add or divide in a
 * different order (sums of floats, averages); both null, or both not finite, count as equal.
 */
export type JsonDatapoint = [number | null, number];
export interface JsonSeries {
  target: string;
  tags: Record<string, string>;
  datapoints: JsonDatapoint[];
}

export const RELATIVE_TOLERANCE = 1e-9;

export function sameValue(a: number | null, b: number | null): boolean {
  if (a === null || b === null) return a === b;
  if (a === b) return true;
  if (!Number.isFinite(a) || !Number.isFinite(b)) return Number.isNaN(a) && Number.isNaN(b);
  return Math.abs(a - b) <= RELATIVE_TOLERANCE * Math.max(Math.abs(a), Math.abs(b));
}

/** Differences as lines a person can read; empty when the answers agree. At most `limit` lines. */
export function renderDifferences(expected: JsonSeries[], actual: JsonSeries[], limit = 12): string[] {
  const out: string[] = [];
  const add = (line: string) => {
    if (out.length < limit) out.push(line);
  };
  const names = (list: JsonSeries[]) => list.map((s) => s.target).join(' | ');
  if (expected.length !== actual.length)
    add(
      `series count: graphite-web ${expected.length} [${names(expected)}], carillon ${actual.length} [${names(actual)}]`,
    );
  for (let i = 0; i < Math.min(expected.length, actual.length); i++) {
    const e = expected[i]!;
    const a = actual[i]!;
    if (e.target !== a.target)
      add(`series ${i} name: graphite-web ${JSON.stringify(e.target)}, carillon ${JSON.stringify(a.target)}`);
    if (JSON.stringify(sortKeys(e.tags)) !== JSON.stringify(sortKeys(a.tags)))
      add(
        `series ${i} tags: graphite-web ${JSON.stringify(sortKeys(e.tags))}, carillon ${JSON.stringify(sortKeys(a.tags))}`,
      );
    const ep = e.datapoints;
    const ap = a.datapoints;
    if (ep.length !== ap.length)
      add(
        `series ${i} (${e.target}) points: graphite-web ${ep.length} [${ep[0]?.[1]}..${ep.at(-1)?.[1]}], ` +
          `carillon ${ap.length} [${ap[0]?.[1]}..${ap.at(-1)?.[1]}]`,
      );
    for (let j = 0; j < Math.min(ep.length, ap.length); j++) {
      const [ev, et] = ep[j]!;
      const [av, at] = ap[j]!;
      if (et !== at || !sameValue(ev, av))
        add(`series ${i} (${e.target}) point ${j}: graphite-web [${ev}, ${et}], carillon [${av}, ${at}]`);
    }
  }
  return out;
}

function sortKeys(tags: Record<string, string> | undefined): [string, string][] {
  return Object.entries(tags ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Deep comparison of two decoded values (floats as sameValue); paths of the differences, at most `limit`. */
export function structureDifferences(
  expected: unknown,
  actual: unknown,
  path = '$',
  out: string[] = [],
  limit = 12,
): string[] {
  if (out.length >= limit) return out;
  if (typeof expected === 'number' && typeof actual === 'number') {
    if (!sameValue(expected, actual)) out.push(`${path}: graphite-web ${expected}, carillon ${actual}`);
  } else if (Array.isArray(expected) && Array.isArray(actual)) {
    if (expected.length !== actual.length)
      out.push(`${path}: graphite-web ${expected.length} items, carillon ${actual.length}`);
    for (let i = 0; i < Math.min(expected.length, actual.length); i++)
      structureDifferences(expected[i], actual[i], `${path}[${i}]`, out, limit);
  } else if (
    expected &&
    actual &&
    typeof expected === 'object' &&
    typeof actual === 'object' &&
    !Array.isArray(expected) &&
    !Array.isArray(actual)
  ) {
    const e = expected as Record<string, unknown>;
    const a = actual as Record<string, unknown>;
    const keys = new Set([...Object.keys(e), ...Object.keys(a)]);
    for (const key of keys) {
      if (!(key in e) || !(key in a)) out.push(`${path}.${key}: only in ${key in e ? 'graphite-web' : 'carillon'}`);
      else structureDifferences(e[key], a[key], `${path}.${key}`, out, limit);
    }
  } else if (expected !== actual)
    out.push(`${path}: graphite-web ${JSON.stringify(expected)}, carillon ${JSON.stringify(actual)}`);
  return out;
}
