/** Reading the http writer's points back from VictoriaMetrics and InfluxDB 1.x as ReadRecords. */
import { canonicalName } from '@carillon/core';
import type { ReadRecord } from './scenario.js';

const FIELDS = new Set(['sum', 'mean', 'min', 'max', 'first', 'last', 'count']);

type Fields = Record<string, number>;

function record(path: string, tags: Record<string, string>, time: number, fields: Fields): ReadRecord {
  const { resolution, ...seriesTags } = tags;
  const name = canonicalName(
    path,
    Object.entries(seriesTags).sort(([a], [b]) => (a < b ? -1 : 1)),
  );
  return { name, step: parseInt(resolution ?? '0', 10), time, sum: NaN, count: NaN, ...fields };
}

/** Every point under the scenario's names in VictoriaMetrics (`/api/v1/export`). */
export async function readVictoriaMetrics(baseUrl: string): Promise<ReadRecord[]> {
  const match = encodeURIComponent('{__name__=~"(wt|stats|stats_counts)\\\\..*"}');
  const response = await fetch(`${baseUrl}/api/v1/export?match[]=${match}`, { signal: AbortSignal.timeout(10_000) });
  if (!response.ok) throw new Error(`victoria-metrics export: ${response.status} ${await response.text()}`);
  const points = new Map<string, { path: string; tags: Record<string, string>; time: number; fields: Fields }>();
  for (const line of (await response.text()).split('\n')) {
    if (line === '') continue;
    const series = JSON.parse(line) as { metric: Record<string, string>; values: number[]; timestamps: number[] };
    const { __name__: metricName, ...tags } = series.metric;
    const cut = metricName!.lastIndexOf('_');
    const path = metricName!.slice(0, cut);
    const field = metricName!.slice(cut + 1);
    series.timestamps.forEach((ms, i) => {
      const time = ms / 1000;
      const key = `${path}|${JSON.stringify(Object.entries(tags).sort())}|${time}`;
      let p = points.get(key);
      if (p === undefined) points.set(key, (p = { path, tags, time, fields: {} }));
      p.fields[field] = series.values[i]!;
    });
  }
  return [...points.values()].map((p) => record(p.path, p.tags, p.time, p.fields));
}

/** Every point of the database in InfluxDB 1.x (`SELECT * FROM /.*∕`). */
export async function readInfluxDb(baseUrl: string, db: string): Promise<ReadRecord[]> {
  const q = encodeURIComponent('SELECT * FROM /.*/');
  const response = await fetch(`${baseUrl}/query?db=${db}&epoch=s&q=${q}`, { signal: AbortSignal.timeout(10_000) });
  if (!response.ok) throw new Error(`influxdb query: ${response.status} ${await response.text()}`);
  const body = (await response.json()) as {
    results: { series?: { name: string; columns: string[]; values: (string | number | null)[][] }[] }[];
  };
  const records: ReadRecord[] = [];
  for (const series of body.results[0]?.series ?? [])
    for (const row of series.values) {
      const tags: Record<string, string> = {};
      const fields: Fields = {};
      let time = 0;
      series.columns.forEach((column, i) => {
        const value = row[i];
        if (column === 'time') time = Number(value);
        else if (FIELDS.has(column)) {
          if (value !== null) fields[column] = Number(value);
        } else if (value !== null && value !== '') tags[column] = String(value);
      });
      records.push(record(series.name, tags, time, fields));
    }
  return records;
}
