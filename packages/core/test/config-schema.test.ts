/** The declarative key schema: reading through declarations, layering, limits and errors naming the key. */
import { parse as parseToml } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  ConfigSource,
  configKey,
  configSchema,
  parseDuration,
  parseDurationMs,
  parseOverrides,
  readSection,
  renderExampleToml,
  renderKeyTable,
  replaceMarkedRegion,
} from '@carillon/core';

const KEYS = {
  name: configKey.string({ key: 'demo.name', default: 'carillon', description: 'a name' }),
  mode: configKey.oneOf({ key: 'demo.mode', choices: ['fast', 'safe'] as const, default: 'safe', description: 'how' }),
  count: configKey.integer({ key: 'demo.count', default: 4, min: 1, max: 10, unit: 'points', description: 'a count' }),
  ratio: configKey.number({ key: 'demo.ratio', default: 0.5, min: 0, max: 1, description: 'a ratio' }),
  on: configKey.boolean({ key: 'demo.on', default: false, description: 'a switch' }),
  delayMs: configKey.duration({
    key: 'demo.delay',
    default: '100ms',
    readAs: 'milliseconds',
    min: '1ms',
    max: '60s',
    description: 'a short delay',
  }),
  retainSeconds: configKey.duration({ key: 'demo.retain', default: '1h', readAs: 'seconds', description: 'a span' }),
  hosts: configKey.stringList({ key: 'demo.hosts', default: ['a', 'b'], description: 'hosts' }),
  bins: configKey.numberList({ key: 'demo.bins', default: [1, 2], description: 'bins' }),
  listen: configKey.listen({ key: 'demo.listen', default: ':9000', description: 'where' }),
} as const;

const source = (file: Record<string, unknown> = {}, env: Record<string, string> = {}, sets: string[] = []) =>
  new ConfigSource(file, env, parseOverrides(sets));

/** The ConfigError a read throws; fails the test when it does not throw one. */
function errorOf(read: () => unknown): ConfigError {
  try {
    read();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('no ConfigError');
}

describe('config schema', () => {
  it('reads every declared default', () => {
    expect(readSection(source(), KEYS)).toEqual({
      name: 'carillon',
      mode: 'safe',
      count: 4,
      ratio: 0.5,
      on: false,
      delayMs: 100,
      retainSeconds: 3600,
      hosts: ['a', 'b'],
      bins: [1, 2],
      listen: { host: '::', port: 9000 },
    });
  });

  it('layers file ← environment ← --set', () => {
    const file = { demo: { count: 2, name: 'file', mode: 'fast' } };
    const env = { CARILLON_DEMO_COUNT: '3', CARILLON_DEMO_NAME: 'env' };
    const layered = source(file, env, ['demo.count=5']);
    expect(layered.read(KEYS.count)).toBe(5);
    expect(layered.read(KEYS.name)).toBe('env');
    expect(layered.read(KEYS.mode)).toBe('fast');
    expect(source({}, { CARILLON_DEMO_HOSTS: 'x, y' }).read(KEYS.hosts)).toEqual(['x', 'y']);
    expect(source({}, {}, ['demo.bins=3,4']).read(KEYS.bins)).toEqual([3, 4]);
    expect(source({}, {}, ['demo.on=yes']).read(KEYS.on)).toBe(true);
    expect(source({}, {}, ['demo.listen=']).read(KEYS.listen)).toBeNull();
  });

  it('uses a computed default only when no layer sets the key', () => {
    expect(source().read(KEYS.name, 'host-1')).toBe('host-1');
    expect(source({ demo: { name: 'set' } }).read(KEYS.name, 'host-1')).toBe('set');
  });

  it('names the key in type errors', () => {
    expect(errorOf(() => source({ demo: { name: 3 } }).read(KEYS.name)).message).toBe(
      'config: demo.name: must be a string, got 3',
    );
    expect(errorOf(() => source({ demo: { count: 'many' } }).read(KEYS.count)).key).toBe('demo.count');
    expect(errorOf(() => source({ demo: { count: 2.5 } }).read(KEYS.count)).message).toContain('whole number');
    expect(errorOf(() => source({}, { CARILLON_DEMO_RATIO: 'half' }).read(KEYS.ratio)).key).toBe('demo.ratio');
    expect(errorOf(() => source({}, {}, ['demo.on=maybe']).read(KEYS.on)).message).toContain('true or false');
    expect(errorOf(() => source({}, {}, ['demo.mode=slow']).read(KEYS.mode)).message).toBe(
      'config: demo.mode: must be one of fast, safe, got "slow"',
    );
    expect(errorOf(() => source({ demo: { hosts: 'a' } }).read(KEYS.hosts)).key).toBe('demo.hosts');
    expect(errorOf(() => source({ demo: { bins: [1, 'x'] } }).read(KEYS.bins)).key).toBe('demo.bins');
    expect(errorOf(() => source({}, {}, ['demo.listen=host:port']).read(KEYS.listen)).key).toBe('demo.listen');
  });

  it('enforces limits, naming the key', () => {
    expect(errorOf(() => source({}, {}, ['demo.count=0']).read(KEYS.count)).message).toBe(
      'config: demo.count: must be at least 1, got 0',
    );
    expect(errorOf(() => source({}, {}, ['demo.count=11']).read(KEYS.count)).message).toBe(
      'config: demo.count: must be at most 10, got 11',
    );
    expect(errorOf(() => source({}, {}, ['demo.ratio=1.5']).read(KEYS.ratio)).key).toBe('demo.ratio');
    expect(errorOf(() => source({}, {}, ['demo.delay=0']).read(KEYS.delayMs)).message).toBe(
      'config: demo.delay: must be at least 1ms, got 0s',
    );
    expect(errorOf(() => source({}, {}, ['demo.delay=2m']).read(KEYS.delayMs)).message).toBe(
      'config: demo.delay: must be at most 60s, got 120s',
    );
    const required = configKey.listen({ key: 'demo.grpc', default: ':7000', required: 'peers', description: 'x' });
    expect(errorOf(() => source({}, {}, ['demo.grpc=']).read(required)).message).toBe(
      'config: demo.grpc: must be set: peers',
    );
  });

  it('reads every duration form', () => {
    const delay = (value: unknown) => source({ demo: { delay: value } }).read(KEYS.delayMs);
    expect(delay('250ms')).toBe(250);
    expect(delay('2s')).toBe(2000);
    expect(delay('1m')).toBe(60_000);
    expect(delay(3)).toBe(3000);
    expect(source({}, {}, ['demo.retain=2d']).read(KEYS.retainSeconds)).toBe(172_800);
    expect(source({}, {}, ['demo.retain=0']).read(KEYS.retainSeconds)).toBe(0);
    expect(errorOf(() => source({}, {}, ['demo.retain=1500ms']).read(KEYS.retainSeconds)).message).toBe(
      'config: demo.retain: must be whole seconds, got 1500ms',
    );
    expect(errorOf(() => delay('soon')).message).toContain('config: demo.delay: "soon" is not a duration');
    expect(errorOf(() => delay(true)).key).toBe('demo.delay');
    expect(parseDurationMs('100ms', 'k')).toBe(100);
    expect(parseDuration('2000ms', 'k')).toBe(2);
    expect(() => parseDuration('10ms', 'k')).toThrowError('config: k: "10ms" must be a whole number of seconds');
  });

  it('reports keys nobody declared or read', () => {
    const typo = source({ demo: { cuont: 1 } }, {}, ['demo.nmae=x']);
    readSection(typo, KEYS);
    expect(errorOf(() => typo.assertAllKeysKnown()).message).toBe('config: demo.cuont: unknown key (also: demo.nmae)');
  });

  it('refuses one key declared twice differently', () => {
    const again = configKey.string({ key: 'demo.name', default: 'other', description: 'a name' });
    expect(() => configSchema(KEYS, [again])).toThrowError('config key demo.name is declared twice');
    expect(configSchema(KEYS, [KEYS.name])).toHaveLength(Object.keys(KEYS).length);
  });
});

describe('config docs', () => {
  const schema = configSchema(
    [configKey.oneOf({ key: 'level', choices: ['a', 'b'], default: 'a', description: 'top level' })],
    KEYS,
    [configKey.table({ key: 'demo.extra', defaultText: 'none', description: 'a table', example: ['[demo.extra]'] })],
  );

  it('renders an example file that reads back as the defaults', () => {
    const text = renderExampleToml(schema, ['header']);
    expect(text.startsWith('# header\n\n# top level [a | b]\nlevel = "a"\n\n[demo]\n')).toBe(true);
    expect(text).toContain('# a count [points, 1 – 10]\ncount = 4\n');
    const file = parseToml(text) as Record<string, unknown>;
    const fromExample = source(file);
    expect(readSection(fromExample, KEYS)).toEqual(readSection(source(), KEYS));
  });

  it('renders a key table and replaces only the marked region', () => {
    const table = renderKeyTable(schema);
    expect(table).toContain('| `demo.count` | `4` | points, 1 – 10 | a count |');
    expect(table).toContain('| `level` | `"a"` | a \\| b | top level |');
    const markdown = 'intro\n<!-- config:begin demo -->\nold\n<!-- config:end -->\noutro\n';
    expect(replaceMarkedRegion(markdown, 'demo', 'new')).toBe(
      'intro\n<!-- config:begin demo -->\n\nnew\n\n<!-- config:end -->\noutro\n',
    );
    expect(() => replaceMarkedRegion(markdown, 'other', 'new')).toThrowError('config:begin other');
  });
});
