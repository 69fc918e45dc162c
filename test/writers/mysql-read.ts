/** Reading the mysql writer's rows back as ReadRecords, with SQL SELECT. */
import mysql from 'mysql2/promise';
import type { MysqlAddress } from '../harness/servers.js';
import { STEPS, type ReadRecord } from './scenario.js';

/** A row of `<table>_<step>s` with its series id. */
export type MysqlRecord = ReadRecord & { uid: string };

/** Every row of `metrics_<step>s` at every resolution of `database`. */
export async function readRows(address: MysqlAddress, database: string): Promise<MysqlRecord[]> {
  const sql = await mysql.createConnection({ ...address, supportBigNumbers: true, bigNumberStrings: true });
  try {
    const records: MysqlRecord[] = [];
    for (const step of STEPS) {
      const [rows] = await sql.query(
        `SELECT uid, path, sum, min, max, first, last, count, resolution, time FROM ${database}.metrics_${step}s`,
      );
      for (const row of rows as Record<string, string | number>[])
        records.push({
          uid: String(row.uid),
          name: String(row.path),
          step: Number(row.resolution),
          time: Number(row.time),
          sum: Number(row.sum),
          min: Number(row.min),
          max: Number(row.max),
          first: Number(row.first),
          last: Number(row.last),
          count: Number(row.count),
        });
    }
    return records;
  } finally {
    sql.destroy();
  }
}
