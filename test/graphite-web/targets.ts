/**
 * What the differential test asks both servers. RANGES × TARGETS covers the functions over short and long,
 * relative and absolute, aligned and unaligned ranges; OPTIONS covers request options one by one.
 * NOW is 2026-01-01 00:00:05 UTC; the fine archive is 10s:6h, the coarse one 1m:48h.
 */
export interface Range {
  from: string;
  until?: string;
  maxDataPoints?: string;
}

export const RANGES: Range[] = [
  { from: '-5min' },
  { from: '-1h', maxDataPoints: '100' },
  { from: '-7h', until: '-1h' },
  { from: '23:10_20251231', until: '23:40_20251231', maxDataPoints: '7' },
  { from: '1767222003', until: '1767224417' },
  { from: '20251230', until: '-1d', maxDataPoints: '300' },
];

export const TARGETS: string[] = [
  'servers.web01.cpu',
  'servers.*.cpu',
  'servers.{web01,db01}.mem',
  'counters.requests.*',
  'negative.*',
  'sparse.events',
  'servers.web03.cpu',
  "seriesByTag('name=disk.used')",
  "seriesByTag('name=disk.used', 'dc=east')",
  'alias(servers.web01.cpu, "\\1 A")',
  'aliasByNode(servers.*.cpu, 1)',
  'aliasByNode(servers.*.cpu, 0, -1)',
  "aliasByTags(seriesByTag('name=disk.used'), 'host', 'name')",
  "consolidateBy(servers.*.cpu, 'max')",
];

export interface OptionCase {
  name: string;
  params: Record<string, string | string[]>;
}

export const OPTIONS: OptionCase[] = [
  { name: 'several targets', params: { target: ['servers.web01.cpu', 'negative.*'], from: '-10min' } },
  { name: 'noNullPoints', params: { target: 'servers.*.cpu', from: '-15min', noNullPoints: '1' } },
  { name: 'maxDataPoints=1', params: { target: 'servers.*.cpu', from: '-1h', maxDataPoints: '1' } },
  {
    name: 'maxDataPoints larger than the points',
    params: { target: 'servers.*.cpu', from: '-1h', maxDataPoints: '10000' },
  },
  { name: 'from after until is swapped', params: { target: 'servers.web01.cpu', from: '-5min', until: '-10min' } },
  { name: 'until in the future', params: { target: 'servers.web01.cpu', from: '-3min', until: '+1h' } },
  { name: 'from beyond retention', params: { target: 'servers.web01.mem', from: '-3d', until: '-40h' } },
  { name: 'range entirely beyond retention', params: { target: 'servers.web01.mem', from: '-5d', until: '-4d' } },
  { name: 'range in the future', params: { target: 'servers.web01.cpu', from: '+1h', until: '+2h' } },
  { name: 'from on a step boundary', params: { target: 'servers.web01.cpu', from: '1767225000', until: '1767225300' } },
  { name: 'one-second range', params: { target: 'servers.web01.cpu', from: '1767225001', until: '1767225002' } },
  { name: 'midnight', params: { target: 'servers.web01.cpu', from: 'midnight-1h', until: 'midnight' } },
  { name: 'yesterday', params: { target: 'servers.web01.mem', from: 'yesterday', until: 'today' } },
  { name: 'noon yesterday', params: { target: 'servers.web01.mem', from: 'noon yesterday', until: '-6h' } },
  { name: 'HH:MM_YYYYMMDD', params: { target: 'servers.web01.cpu', from: '23:55_20251231', until: '23:58_20251231' } },
  { name: 'weeks and months', params: { target: 'servers.web01.mem', from: '-1w', until: '-1mon+29d+23h' } },
];
