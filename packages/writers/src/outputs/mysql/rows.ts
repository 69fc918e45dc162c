/** Multi-row INSERT statements for the layout in schema.ts, built as text (one round trip per statement). */
import { STAT_COUNT, STAT_FIRST, STAT_LAST, STAT_MAX, STAT_MIN, STAT_STRIDE, STAT_SUM } from '@carillon/core';
import type { FlushBatch } from '@carillon/core';
import { metricTableName } from './schema.js';

/** One row of a metric table: the tuple text (values already escaped) and the series it belongs to. */
export interface MetricRow {
  uid: string;
  /** The escaped path literal, shared with the path row. */
  pathLiteral: string;
  /** `(uid,path,sum,min,max,first,last,count,resolution,time)`. */
  tuple: string;
}

/**
 * Numbers as JavaScript's shortest round-trip text: the server parses it to the same double (a decimal literal
 * converts exactly rounded). FlushBatches hold only finite values (the aggregator refuses others).
 */
function num(value: number): string {
  return String(value);
}

export function metricRow(batch: FlushBatch, i: number, uid: string, pathLiteral: string): MetricRow {
  const s = batch.stats;
  const o = i * STAT_STRIDE;
  const tuple =
    `(${uid},${pathLiteral},${num(s[o + STAT_SUM]!)},${num(s[o + STAT_MIN]!)},${num(s[o + STAT_MAX]!)},` +
    `${num(s[o + STAT_FIRST]!)},${num(s[o + STAT_LAST]!)},${num(s[o + STAT_COUNT]!)},${batch.resolution.step},${batch.time})`;
  return { uid, pathLiteral, tuple };
}

export function insertMetricsSql(database: string, table: string, step: number, tuples: readonly string[]): string {
  return (
    `INSERT INTO \`${database}\`.\`${metricTableName(table, step)}\` ` +
    '(`uid`,`path`,`sum`,`min`,`max`,`first`,`last`,`count`,`resolution`,`time`) VALUES ' +
    tuples.join(',') +
    ' ON DUPLICATE KEY UPDATE `sum`=VALUES(`sum`),`min`=VALUES(`min`),`max`=VALUES(`max`),' +
    '`first`=VALUES(`first`),`last`=VALUES(`last`),`count`=VALUES(`count`)'
  );
}

/** The path rows of series not known to be there yet; an existing row is left as it is. */
export function insertPathsSql(database: string, pathTable: string, rows: readonly MetricRow[]): string {
  return (
    `INSERT INTO \`${database}\`.\`${pathTable}\` (\`uid\`,\`path\`) VALUES ` +
    rows.map((row) => `(${row.uid},${row.pathLiteral})`).join(',') +
    ' ON DUPLICATE KEY UPDATE `uid`=`uid`'
  );
}
