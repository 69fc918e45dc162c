/**
 * The retention keys: `[[retention]]` and `carbon.storage_schemas`. Read by the accumulators (their whisper files
 * and their Graphite API) and by the relay (its cluster Graphite API reads each series at its own resolutions).
 */
import { parseStorageSchemas } from './carbon-conf.js';
import { readConfiguredFile, type ConfigSource } from './config.js';
import { configKey } from './config-schema.js';
import { ConfigError } from './errors.js';
import type { Resolution } from './resolution.js';
import { parseRetentionSpecs, retentionRules, type RetentionRule, type RetentionSpec } from './retention.js';

export const RETENTION_KEY = configKey.table({
  key: 'retention',
  defaultText: 'times for every series',
  description:
    '{ pattern, times } rules choosing the resolutions a series is stored at, by path, first match wins, times for the rest; every step must be a step of times (store = "whisper" or "cassandra")',
  example: ['# [[retention]]', '# pattern = "^carbon\\\\."', '# times = ["1m:90d"]'],
});

export const STORAGE_SCHEMAS_KEY = configKey.string({
  key: 'carbon.storage_schemas',
  default: '',
  description:
    'path of a carbon storage-schemas.conf to take the retention rules from (pattern, retentions; first match wins), instead of [[retention]]; "" for none',
});

/** `[[retention]]` or carbon's storage-schemas.conf, checked against `times` (retention.ts), `times` last. */
export function readRetentionRules(source: ConfigSource, resolutions: readonly Resolution[]): RetentionRule[] {
  const raw = source.read(RETENTION_KEY);
  const file = source.read(STORAGE_SCHEMAS_KEY);
  let specs: RetentionSpec[] = [];
  if (file !== '') {
    if (raw !== undefined)
      throw new ConfigError(STORAGE_SCHEMAS_KEY.key, 'is set beside [[retention]]: keep one of them');
    specs = parseStorageSchemas(
      readConfiguredFile(STORAGE_SCHEMAS_KEY.key, file),
      `${STORAGE_SCHEMAS_KEY.key} (${file})`,
    );
  } else if (raw !== undefined) specs = parseRetentionSpecs(raw, RETENTION_KEY.key);
  return retentionRules(specs, resolutions);
}

/** The key the rules came from, for errors about the rule set as a whole. */
export function retentionSourceKey(source: ConfigSource): string {
  return source.read(STORAGE_SCHEMAS_KEY) === '' ? RETENTION_KEY.key : STORAGE_SCHEMAS_KEY.key;
}
