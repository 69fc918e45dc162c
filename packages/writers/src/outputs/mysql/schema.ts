/**
 * The MySQL/MariaDB layout, after cadent's mysql flat writer: one table per resolution, `<table>_<step>s`, a row
 * per series and window (uid, path, sum, min, max, first, last, count, resolution, time), and one path table (uid,
 * path) naming every series once. Differences from cadent, each for exactness or idempotence:
 * - values are DOUBLE (cadent's FLOAT keeps 24 bits), `first` is kept beside `last`, and count is DOUBLE because
 *   StatsD sample rates make it fractional;
 * - `time` is the window start in epoch seconds (BIGINT): no time zone stands between what is written and read;
 * - the key is (uid, time), and rows are written with ON DUPLICATE KEY UPDATE, so writing a window again (a retry
 *   after a timeout whose first attempt did land, a replay after a restart) leaves one row with the same values.
 * `uid` is the series id (core `seriesId`, FNV-1a 64, signed as in Cassandra and Kafka), `path` the canonical name.
 */

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,47}$/;

/** Database and table names are written into SQL text, so only plain identifiers are accepted. */
export function isValidIdentifier(name: string): boolean {
  return IDENTIFIER.test(name);
}

export function metricTableName(table: string, step: number): string {
  return `${table}_${step}s`;
}

export function createDatabaseSql(database: string): string {
  return `CREATE DATABASE IF NOT EXISTS \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`;
}

export function createMetricTableSql(database: string, table: string, step: number): string {
  return (
    `CREATE TABLE IF NOT EXISTS \`${database}\`.\`${metricTableName(table, step)}\` (` +
    '`uid` BIGINT NOT NULL, `path` TEXT NOT NULL, `sum` DOUBLE NOT NULL, `min` DOUBLE NOT NULL, ' +
    '`max` DOUBLE NOT NULL, `first` DOUBLE NOT NULL, `last` DOUBLE NOT NULL, `count` DOUBLE NOT NULL, ' +
    '`resolution` INT NOT NULL, `time` BIGINT NOT NULL, PRIMARY KEY (`uid`, `time`), KEY `time` (`time`)' +
    ') ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin'
  );
}

export function createPathTableSql(database: string, pathTable: string): string {
  return (
    `CREATE TABLE IF NOT EXISTS \`${database}\`.\`${pathTable}\` (` +
    '`uid` BIGINT NOT NULL, `path` TEXT NOT NULL, PRIMARY KEY (`uid`)' +
    ') ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin'
  );
}
