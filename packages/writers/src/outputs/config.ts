/**
 * `[[writers]]`: the writers beside the store, each entry a table with its `type` and that type's keys
 * (writer-type.ts declares the common ones, each type its own). Every entry is read through a ConfigSource of
 * its own, so types, bounds and unknown keys are checked as for any other key, and errors name
 * `writers[<i>].<key>`.
 */
import { ConfigError, ConfigSource, configKey, type RawTable } from '@carillon/core';
import type { OpenDefaults, PreparedWriter, WriterType } from './writer-type.js';

export const WRITERS_KEY = configKey.table({
  key: 'writers',
  defaultText: 'none',
  description:
    'writers beside the store (several at once, each with its own queue): one [[writers]] table each, with type = "log" | "file" | "archive" | "http" | "kafka" | … and its keys (packages/writers/README.md)',
  example: ['# [[writers]]', '# type = "file"', '# base = "/var/lib/carillon/stats"'],
});

export function readWriters(
  source: ConfigSource,
  types: readonly WriterType[],
  defaults: OpenDefaults,
): PreparedWriter[] {
  const raw = source.read(WRITERS_KEY);
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw new ConfigError(WRITERS_KEY.key, 'must be a list of tables: [[writers]] entries');
  const names = new Set<string>();
  return raw.map((entry: unknown, i) => {
    const at = `${WRITERS_KEY.key}[${i}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
      throw new ConfigError(at, 'must be a table with a type');
    const typeName = (entry as RawTable).type;
    const type = types.find((t) => t.type === typeName);
    if (type === undefined)
      throw new ConfigError(
        `${at}.type`,
        `must be one of ${types.map((t) => t.type).join(', ')}, got ${JSON.stringify(typeName)}`,
      );
    let prepared: PreparedWriter;
    try {
      prepared = type.prepare(new ConfigSource(entry as RawTable), defaults);
    } catch (error) {
      if (error instanceof ConfigError) throw new ConfigError(`${at}.${error.key}`, error.problem);
      throw error;
    }
    if (names.has(prepared.name))
      throw new ConfigError(`${at}.name`, `"${prepared.name}" names another writer too; give each a unique name`);
    names.add(prepared.name);
    return prepared;
  });
}
