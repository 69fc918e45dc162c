/**
 * Declarative config keys. Every key is declared once, beside the code that uses it: name, type, default, unit,
 * limits and a one-line description. Readers read through the declaration (`source.read(KEY)`,
 * `readSection(source, KEYS)`), and the example file and the README key tables are rendered from the same
 * declarations, so a name, a default or a bound exists in exactly one place.
 */
import type { ListenAddress } from './config.js';

/** What a count or size is counted in; shown in the docs. */
export type ConfigUnit =
  | 'bytes'
  | 'points'
  | 'series'
  | 'values'
  | 'files'
  | 'connections'
  | 'relays'
  | 'operations'
  | 'virtual nodes'
  | 'threads'
  | 'items';

interface KeyCommon {
  /** The dotted key, as written in the file (`graphite.max_line_length`). */
  readonly key: string;
  /** One line for the docs. */
  readonly description: string;
  readonly unit?: ConfigUnit;
  /**
   * Set when the default depends on something else (the hostname, another key): the docs show this text, the
   * example file leaves the key commented out, and the reader passes the value as `read(KEY, fallback)`.
   */
  readonly computedDefault?: string;
}

export interface StringKey extends KeyCommon {
  readonly type: 'string';
  readonly default: string;
}

export interface OneOfKey<C extends string = string> extends KeyCommon {
  readonly type: 'oneOf';
  readonly choices: readonly C[];
  readonly default: C;
}

export interface IntegerKey extends KeyCommon {
  readonly type: 'integer';
  readonly default: number;
  readonly min?: number;
  readonly max?: number;
}

export interface NumberKey extends KeyCommon {
  readonly type: 'number';
  readonly default: number;
  readonly min?: number;
  readonly max?: number;
}

export interface BooleanKey extends KeyCommon {
  readonly type: 'boolean';
  readonly default: boolean;
}

/** A duration text (`100ms`, `10s`, `5m`); a bare number in the file means seconds. */
export interface DurationKey extends KeyCommon {
  readonly type: 'duration';
  readonly default: string;
  /** The unit of the value the reader gets; `seconds` refuses values that are not whole seconds. */
  readonly readAs: 'seconds' | 'milliseconds';
  /** Limits as duration texts (`1ms`, `60s`). */
  readonly min?: string;
  readonly max?: string;
}

export interface StringListKey extends KeyCommon {
  readonly type: 'stringList';
  readonly default: readonly string[];
}

export interface NumberListKey extends KeyCommon {
  readonly type: 'numberList';
  readonly default: readonly number[];
}

/** `host:port`, `:port` or `port`; `""` (read as null) disables, unless `required`. */
export interface ListenKey extends KeyCommon {
  readonly type: 'listen';
  readonly default: string;
  /** Why the listener cannot be disabled; set for listeners the program cannot run without. */
  readonly required?: string;
}

/** A sub-tree the owning module validates itself (`[statsd.output]`, `[[aggregation]]`); read as unknown. */
export interface TableKey extends KeyCommon {
  readonly type: 'table';
  /** Shown as the default in the key tables. */
  readonly defaultText: string;
  /** TOML lines for the example file (a `[table]` header and its keys, or commented-out lines). */
  readonly example: readonly string[];
}

export type ConfigKey =
  | StringKey
  | OneOfKey
  | IntegerKey
  | NumberKey
  | BooleanKey
  | DurationKey
  | StringListKey
  | NumberListKey
  | ListenKey
  | TableKey;

/** The type a key reads as. */
export type ConfigValue<K extends ConfigKey> =
  K extends OneOfKey<infer C>
    ? C
    : K extends StringKey
      ? string
      : K extends IntegerKey | NumberKey | DurationKey
        ? number
        : K extends BooleanKey
          ? boolean
          : K extends StringListKey
            ? string[]
            : K extends NumberListKey
              ? number[]
              : K extends ListenKey
                ? ListenAddress | null
                : unknown;

/** The type of a key's default, for readers that compute it (`read(KEY, fallback)`). */
export type ConfigDefault<K extends ConfigKey> =
  K extends OneOfKey<infer C> ? C : K extends { readonly default: infer D } ? D : never;

type Spec<K extends ConfigKey> = Omit<K, 'type'>;

/** Constructors that fill in `type`, so declarations stay short and keep their literal types. */
export const configKey = {
  string: (spec: Spec<StringKey>): StringKey => ({ ...spec, type: 'string' }),
  oneOf: <C extends string>(spec: Spec<OneOfKey<C>>): OneOfKey<C> => ({ ...spec, type: 'oneOf' }),
  integer: (spec: Spec<IntegerKey>): IntegerKey => ({ ...spec, type: 'integer' }),
  number: (spec: Spec<NumberKey>): NumberKey => ({ ...spec, type: 'number' }),
  boolean: (spec: Spec<BooleanKey>): BooleanKey => ({ ...spec, type: 'boolean' }),
  duration: (spec: Spec<DurationKey>): DurationKey => ({ ...spec, type: 'duration' }),
  stringList: (spec: Spec<StringListKey>): StringListKey => ({ ...spec, type: 'stringList' }),
  numberList: (spec: Spec<NumberListKey>): NumberListKey => ({ ...spec, type: 'numberList' }),
  listen: (spec: Spec<ListenKey>): ListenKey => ({ ...spec, type: 'listen' }),
  table: (spec: Spec<TableKey>): TableKey => ({ ...spec, type: 'table' }),
};

/** The keys one module reads, by the name its reader uses for each. */
export type ConfigSection = Readonly<Record<string, ConfigKey>>;

/** The values of a section, typed by its declarations. */
export type SectionValues<S extends ConfigSection> = { [Name in keyof S]: ConfigValue<S[Name]> };

/** A program's schema: the keys of every section it reads, in order. */
export type ConfigSchema = readonly ConfigKey[];

/** The union of sections; one key declared twice (two different declarations) is a programming error. */
export function configSchema(...sections: readonly (ConfigSection | ConfigSchema)[]): ConfigSchema {
  const byKey = new Map<string, ConfigKey>();
  for (const section of sections)
    for (const key of Array.isArray(section) ? (section as ConfigSchema) : Object.values(section)) {
      const known = byKey.get(key.key);
      if (known !== undefined && known !== key) throw new Error(`config key ${key.key} is declared twice`);
      byKey.set(key.key, key);
    }
  return [...byKey.values()];
}

/** The default as the docs show it: the TOML literal, or the computed default's text. */
export function defaultText(key: ConfigKey): string {
  if (key.computedDefault !== undefined) return key.computedDefault;
  if (key.type === 'table') return key.defaultText;
  const value: unknown = key.default;
  return Array.isArray(value) ? `[${value.map((item) => JSON.stringify(item)).join(', ')}]` : JSON.stringify(value);
}

/** The limits as the docs show them (`1 – 64`, `at least 1024`), or ''. */
export function limitsText(key: ConfigKey): string {
  if (key.type === 'oneOf') return key.choices.join(' | ');
  if (key.type !== 'integer' && key.type !== 'number' && key.type !== 'duration') return '';
  if (key.min !== undefined && key.max !== undefined) return `${key.min} – ${key.max}`;
  if (key.min !== undefined) return `≥ ${key.min}`;
  if (key.max !== undefined) return `≤ ${key.max}`;
  return '';
}
