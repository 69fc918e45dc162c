/**
 * Layered configuration: defaults ← TOML file ← environment ← command-line `--set key=value`.
 * Services read typed values through key declarations (config-schema.ts: `source.read(KEY)`,
 * `readSection(source, KEYS)`) or by dotted key (`graphite.max_line_length`); every error names the key, and keys
 * in the file that nobody read are reported, so a typo stops the program instead of being ignored.
 * The environment name of a key is `CARILLON_` + the key upper-cased with `.` as `_`
 * (`graphite.max_line_length` → `CARILLON_GRAPHITE_MAX_LINE_LENGTH`).
 */
import { readFileSync } from 'node:fs';
import { parse as parseToml } from 'smol-toml';
import type {
  ConfigDefault,
  ConfigKey,
  ConfigSection,
  ConfigValue,
  DurationKey,
  SectionValues,
} from './config-schema.js';
import { ConfigError } from './errors.js';
import { ANY_HOST } from './listen.js';
import { formatDurationMs, parseDurationMs } from './time.js';

export type RawTable = Record<string, unknown>;

export function envNameOf(key: string): string {
  return `CARILLON_${key.toUpperCase().replace(/[.-]/g, '_')}`;
}

/** The file at `path`, which config key `key` names; one it cannot read is a ConfigError naming the key. */
export function readConfiguredFile(key: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(key, `cannot read ${path}: ${(error as Error).message}`);
  }
}

/** Reads a TOML file; a missing file or a syntax error is a ConfigError naming the file. */
export function readTomlFile(path: string): RawTable {
  const text = readConfiguredFile('--config', path);
  try {
    return parseToml(text) as RawTable;
  } catch (error) {
    throw new ConfigError('--config', `${path} is not valid TOML: ${(error as Error).message}`);
  }
}

/** Parses `key=value` overrides from the command line. */
export function parseOverrides(pairs: readonly string[]): Map<string, string> {
  const overrides = new Map<string, string>();
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new ConfigError('--set', `"${pair}" must be key=value`);
    overrides.set(pair.slice(0, eq).trim(), pair.slice(eq + 1));
  }
  return overrides;
}

interface NumberBounds {
  min?: number;
  max?: number;
}

/** What a ConfigSource reads, as plain data (structured-cloneable): a worker thread rebuilds the source from it. */
export interface ConfigInputs {
  file: RawTable;
  env: Record<string, string | undefined>;
  overrides: [string, string][];
}

export class ConfigSource {
  private readonly keysRead = new Set<string>();

  static fromInputs(inputs: ConfigInputs): ConfigSource {
    return new ConfigSource(inputs.file, inputs.env, new Map(inputs.overrides));
  }

  inputs(): ConfigInputs {
    return { file: this.file, env: { ...this.env }, overrides: [...this.overrides] };
  }

  constructor(
    private readonly file: RawTable = {},
    private readonly env: NodeJS.ProcessEnv = {},
    private readonly overrides: ReadonlyMap<string, string> = new Map(),
  ) {}

  /** The text given on the command line or in the environment, if any: those win over the file. */
  private textOverride(key: string): string | undefined {
    this.keysRead.add(key);
    return this.overrides.get(key) ?? this.env[envNameOf(key)];
  }

  private fileValue(key: string): unknown {
    this.keysRead.add(key);
    let node: unknown = this.file;
    for (const part of key.split('.')) {
      if (typeof node !== 'object' || node === null || Array.isArray(node)) return undefined;
      node = (node as RawTable)[part];
    }
    return node;
  }

  string(key: string, fallback: string): string {
    const text = this.textOverride(key);
    if (text !== undefined) return text;
    const value = this.fileValue(key);
    if (value === undefined) return fallback;
    if (typeof value !== 'string') throw new ConfigError(key, `must be a string, got ${JSON.stringify(value)}`);
    return value;
  }

  oneOf<T extends string>(key: string, choices: readonly T[], fallback: T): T {
    const value = this.string(key, fallback);
    if (!choices.includes(value as T))
      throw new ConfigError(key, `must be one of ${choices.join(', ')}, got "${value}"`);
    return value as T;
  }

  number(key: string, fallback: number, bounds: NumberBounds = {}): number {
    const text = this.textOverride(key);
    const value = text !== undefined ? Number(text.trim() === '' ? NaN : text) : (this.fileValue(key) ?? fallback);
    if (typeof value !== 'number' || !Number.isFinite(value))
      throw new ConfigError(key, `must be a number, got ${JSON.stringify(text ?? value)}`);
    if (bounds.min !== undefined && value < bounds.min)
      throw new ConfigError(key, `must be at least ${bounds.min}, got ${value}`);
    if (bounds.max !== undefined && value > bounds.max)
      throw new ConfigError(key, `must be at most ${bounds.max}, got ${value}`);
    return value;
  }

  integer(key: string, fallback: number, bounds: NumberBounds = {}): number {
    const value = this.number(key, fallback, bounds);
    if (!Number.isInteger(value)) throw new ConfigError(key, `must be a whole number, got ${value}`);
    return value;
  }

  boolean(key: string, fallback: boolean): boolean {
    const text = this.textOverride(key);
    if (text !== undefined) {
      if (/^(true|1|yes|on)$/i.test(text)) return true;
      if (/^(false|0|no|off)$/i.test(text)) return false;
      throw new ConfigError(key, `must be true or false, got "${text}"`);
    }
    const value = this.fileValue(key);
    if (value === undefined) return fallback;
    if (typeof value !== 'boolean') throw new ConfigError(key, `must be true or false, got ${JSON.stringify(value)}`);
    return value;
  }

  /** A duration in whole seconds: `10s`, `5m`, `2h`; a bare number in the file means seconds. */
  duration(key: string, fallback: string): number {
    const ms = this.durationMs(key, fallback);
    if (ms % 1000 !== 0) throw new ConfigError(key, `must be whole seconds, got ${formatDurationMs(ms)}`);
    return ms / 1000;
  }

  /** A duration in milliseconds: `100ms`, `10s`, `5m`; a bare number in the file means seconds. */
  durationMs(key: string, fallback: string): number {
    const text = this.textOverride(key);
    const value = text ?? this.fileValue(key) ?? fallback;
    if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value * 1000;
    if (typeof value !== 'string')
      throw new ConfigError(key, `must be a duration like "10s", got ${JSON.stringify(value)}`);
    if (/^\s*0(ms|s|m|h|d|w|y)?\s*$/.test(value)) return 0;
    return parseDurationMs(value, key);
  }

  /** A list of strings; on the command line or in the environment, comma-separated. */
  stringList(key: string, fallback: readonly string[]): string[] {
    const text = this.textOverride(key);
    if (text !== undefined)
      return text
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
    const value = this.fileValue(key);
    if (value === undefined) return [...fallback];
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'string'))
      throw new ConfigError(key, `must be a list of strings, got ${JSON.stringify(value)}`);
    return value as string[];
  }

  /** A list of numbers; on the command line or in the environment, comma-separated. */
  numberList(key: string, fallback: readonly number[]): number[] {
    const text = this.textOverride(key);
    const value: unknown =
      text !== undefined ? text.split(',').map((s) => Number(s.trim())) : (this.fileValue(key) ?? fallback);
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'number' && Number.isFinite(v)))
      throw new ConfigError(key, `must be a list of numbers, got ${JSON.stringify(text ?? value)}`);
    return value as number[];
  }

  /** A raw sub-tree for a module that validates it itself (it must name keys under `key` in its errors). */
  raw(key: string): unknown {
    return this.fileValue(key);
  }

  /** Reads a declared key: its type, default and limits come from the declaration. */
  read<K extends ConfigKey>(key: K, fallback?: ConfigDefault<K>): ConfigValue<K> {
    return this.readDeclared(key, fallback) as ConfigValue<K>;
  }

  private readDeclared(spec: ConfigKey, fallback: unknown): unknown {
    const { key } = spec;
    switch (spec.type) {
      case 'string':
        return this.string(key, (fallback as string | undefined) ?? spec.default);
      case 'oneOf':
        return this.oneOf(key, spec.choices, (fallback as string | undefined) ?? spec.default);
      case 'integer':
        return this.integer(key, (fallback as number | undefined) ?? spec.default, spec);
      case 'number':
        return this.number(key, (fallback as number | undefined) ?? spec.default, spec);
      case 'boolean':
        return this.boolean(key, (fallback as boolean | undefined) ?? spec.default);
      case 'duration':
        return this.declaredDuration(spec, (fallback as string | undefined) ?? spec.default);
      case 'stringList':
        return this.stringList(key, (fallback as readonly string[] | undefined) ?? spec.default);
      case 'numberList':
        return this.numberList(key, (fallback as readonly number[] | undefined) ?? spec.default);
      case 'listen': {
        const address = parseListenAddress(this.string(key, (fallback as string | undefined) ?? spec.default), key);
        if (address === null && spec.required !== undefined)
          throw new ConfigError(key, `must be set: ${spec.required}`);
        return address;
      }
      case 'table':
        return this.raw(key);
    }
  }

  private declaredDuration(spec: DurationKey, fallback: string): number {
    const ms = this.durationMs(spec.key, fallback);
    if (spec.min !== undefined && ms < parseDurationMs(spec.min, spec.key))
      throw new ConfigError(spec.key, `must be at least ${spec.min}, got ${formatDurationMs(ms)}`);
    if (spec.max !== undefined && ms > parseDurationMs(spec.max, spec.key))
      throw new ConfigError(spec.key, `must be at most ${spec.max}, got ${formatDurationMs(ms)}`);
    return spec.readAs === 'milliseconds' ? ms : this.duration(spec.key, fallback);
  }

  /**
   * Throws for every file key no one read and every override naming no key that was read: both are typos.
   * Call after the whole config has been read.
   */
  assertAllKeysKnown(): void {
    const unknown: string[] = [];
    const visit = (node: unknown, prefix: string): void => {
      if (this.keysRead.has(prefix)) return;
      if (typeof node === 'object' && node !== null && !Array.isArray(node)) {
        for (const [name, child] of Object.entries(node as RawTable)) visit(child, prefix ? `${prefix}.${name}` : name);
      } else if (prefix) unknown.push(prefix);
    };
    visit(this.file, '');
    for (const key of this.overrides.keys()) if (!this.keysRead.has(key)) unknown.push(key);
    if (unknown.length > 0)
      throw new ConfigError(
        unknown[0]!,
        `unknown key${unknown.length > 1 ? ` (also: ${unknown.slice(1).join(', ')})` : ''}`,
      );
  }
}

/** Reads every key of a section, typed by its declarations. */
export function readSection<S extends ConfigSection>(source: ConfigSource, section: S): SectionValues<S> {
  const values: Partial<Record<keyof S, unknown>> = {};
  for (const name of Object.keys(section) as (keyof S)[]) values[name] = source.read(section[name]!);
  return values as SectionValues<S>;
}

/** `host:port`, `[v6]:port`, `:port` or `port` (every interface, both families: `ANY_HOST`); `""` disables. */
export interface ListenAddress {
  host: string;
  port: number;
}

export function parseListenAddress(text: string, key: string): ListenAddress | null {
  const trimmed = text.trim();
  if (trimmed === '' || trimmed === 'off') return null;
  const colon = trimmed.lastIndexOf(':');
  const host = colon < 0 ? ANY_HOST : trimmed.slice(0, colon).replace(/^\[|\]$/g, '') || ANY_HOST;
  const portText = colon < 0 ? trimmed : trimmed.slice(colon + 1);
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535)
    throw new ConfigError(key, `"${text}" must be host:port, :port or port (0-65535), or "" to disable`);
  return { host, port };
}
