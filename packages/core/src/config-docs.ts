/**
 * Renders a program's schema as documentation: the example TOML file (every key with its default) and a markdown
 * key table, and replaces a marked region of a markdown file. `tools/config-docs.ts` writes them; a test renders
 * them again and fails when the committed files are stale.
 */
import { defaultText, limitsText, type ConfigKey, type ConfigSchema } from './config-schema.js';

/** The part of the key before its last `.` (the TOML table it lives in); '' for top-level keys. */
function sectionOf(key: string): string {
  const dot = key.lastIndexOf('.');
  return dot < 0 ? '' : key.slice(0, dot);
}

/** Unit and limits, for the comment above a key in the example and the table's column. */
function unitAndLimits(key: ConfigKey): string {
  return [key.unit, limitsText(key)].filter((part) => part !== undefined && part !== '').join(', ');
}

/**
 * The example file: top-level keys, then one `[section]` per table in order of first declaration, then the raw
 * tables (`[statsd.output]`, `[[aggregation]]`) last, since a TOML table runs until the next header.
 */
export function renderExampleToml(schema: ConfigSchema, header: readonly string[]): string {
  const sections = new Map<string, ConfigKey[]>();
  const tables: ConfigKey[] = [];
  for (const key of schema) {
    if (key.type === 'table') {
      tables.push(key);
      continue;
    }
    const section = sectionOf(key.key);
    sections.set(section, [...(sections.get(section) ?? []), key]);
  }
  const lines = header.map((line) => `# ${line}`.trimEnd());
  const ordered = [...sections.entries()].sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : 0));
  for (const [section, keys] of ordered) {
    lines.push('');
    if (section !== '') lines.push(`[${section}]`);
    for (const key of keys) {
      const detail = unitAndLimits(key);
      lines.push(`# ${key.description}${detail === '' ? '' : ` [${detail}]`}`);
      const name = key.key.slice(section === '' ? 0 : section.length + 1);
      lines.push(
        key.computedDefault !== undefined
          ? `# ${name} = ...  # default: ${key.computedDefault}`
          : `${name} = ${defaultText(key)}`,
      );
    }
  }
  for (const table of tables) {
    lines.push('', `# ${table.description}`);
    if (table.type === 'table') lines.push(...table.example);
  }
  return `${lines.join('\n')}\n`;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

/** A markdown table of the keys: key, default, unit and limits, meaning. */
export function renderKeyTable(schema: ConfigSchema): string {
  const rows = schema.map((key) => {
    const fallback = key.computedDefault !== undefined ? key.computedDefault : `\`${defaultText(key)}\``;
    return `| \`${key.key}\` | ${cell(fallback)} | ${cell(unitAndLimits(key))} | ${cell(key.description)} |`;
  });
  return ['| key | default | unit, limits | meaning |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

/** Replaces the text between `<!-- config:begin NAME -->` and the next `<!-- config:end -->`. */
export function replaceMarkedRegion(markdown: string, name: string, content: string): string {
  const begin = `<!-- config:begin ${name} -->`;
  const end = '<!-- config:end -->';
  const start = markdown.indexOf(begin);
  const stop = start < 0 ? -1 : markdown.indexOf(end, start);
  if (start < 0 || stop < 0) throw new Error(`no "${begin}" … "${end}" region`);
  return `${markdown.slice(0, start + begin.length)}\n\n${content}\n\n${markdown.slice(stop)}`;
}
