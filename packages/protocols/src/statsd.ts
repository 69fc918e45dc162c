/**
 * StatsD and DogStatsD lines: `key:value|type[|@rate][|#k:v,flag][|c:container]`. Pure functions; a datagram
 * holding several `\n`-separated lines is split by the framing or the UDP listener first.
 *
 * Decisions:
 * - Key sanitizing is the reference daemon's (statsd 0.9.0 stats.js sanitizeKeyName): each run of whitespace
 *   becomes `_`, `/` becomes `-`, every character outside `[a-zA-Z0-9_\-.;=]` is dropped. `;` and `=` survive
 *   on purpose, as there: `key;k=v:1|c` is a Graphite-tagged StatsD key.
 * - DogStatsD tags `|#k:v,k2:v2` become Graphite tags after the key's own tags (so they win a duplicate).
 *   Tag names and values are sanitized like keys, `;` becoming `_`, `=` dropped from names. A tag without a
 *   value (`|#canary`) becomes `canary=true` (Telegraf's rule), since Graphite tags need a value. An empty
 *   item (`|#a:b,,c:d`) is skipped; a tag that sanitizes to an empty name or value is invalid_tag.
 * - Packed values: `a:1:2:3|c` (DogStatsD) and `a:1|c:2|ms` (reference daemon) both work; values without a
 *   type take the type and rate of the next typed group. One bad value refuses the whole line.
 * - Values: decimal numbers (Python float syntax); `nan` → nan_value; ±inf → invalid_value; a timer (ms)
 *   below zero → invalid_value (the reference daemon's rule). Gauges with a leading `+` or `-` are deltas.
 *   Set members are taken verbatim, `''` as `'0'` (reference daemon).
 * - Sample rate `@r` needs 0 < r <= 1 with 1/r finite, else invalid_sample_rate.
 * - Trailing spaces and tabs are ignored (the reference daemon trims the type).
 * - DogStatsD container ids `|c:...` are ignored; any other extra field (events `_e`, timestamps `|T`, ...)
 *   is malformed_line.
 */
import {
  canonicalName,
  isValidPath,
  normalizeTags,
  parseMetricName,
  type StatsdSample,
  type StatsdType,
  type Tag,
} from '@carillon/core';
import { KeyLocation } from './graphite.js';
import { parseDecimal } from './number.js';
import type { RejectReason } from './reasons.js';

const COLON = 0x3a;
const PIPE = 0x7c;
const HASH = 0x23;
const AT = 0x40;

/**
 * [a-zA-Z0-9_\-.]: bytes that pass the reference sanitizer unchanged and need no tag handling; 2 for the node
 * separator `.`, 1 for the others, 0 for every other byte.
 */
export const PLAIN_KEY_BYTE = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  PLAIN_KEY_BYTE[c] =
    (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c === 0x2d
      ? 1
      : c === 0x2e
        ? 2 // the node separator
        : 0;
}

/** What JavaScript's `\s` matches, which the reference sanitizer turns into `_`. */
function isJsWhitespace(c: number): boolean {
  return (
    (c >= 0x09 && c <= 0x0d) ||
    c === 0x20 ||
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}

/** Which part of a name is being sanitized: tag parts must not carry tag syntax. */
type Flavor = 0 | 1 | 2;
const KEY: Flavor = 0;
const TAG_NAME: Flavor = 1;
const TAG_VALUE: Flavor = 2;

/** The reference sanitizer over `text[start, end)`; tag flavors also keep tag syntax out of tag parts. */
function sanitize(text: string, start: number, end: number, flavor: Flavor): string {
  let plain = true;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80 || PLAIN_KEY_BYTE[c] === 0) {
      plain = false;
      break;
    }
  }
  if (plain) return text.slice(start, end);
  let out = '';
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (isJsWhitespace(c)) {
      out += '_';
      while (i + 1 < end && isJsWhitespace(text.charCodeAt(i + 1))) i++;
    } else if (c === 0x2f /* / */) out += '-';
    else if (c < 0x80 && PLAIN_KEY_BYTE[c] !== 0) out += text[i];
    else if (c === 0x3b /* ; */) out += flavor === KEY ? ';' : '_';
    else if (c === 0x3d /* = */ && flavor !== TAG_NAME) out += '=';
  }
  return out;
}

/** Appends DogStatsD tags from `text[start, end)` to `tags`; returns a problem for an unusable tag. */
function parseDogTags(text: string, start: number, end: number, tags: Tag[]): RejectReason | undefined {
  let itemStart = start;
  while (itemStart <= end) {
    let itemEnd = text.indexOf(',', itemStart);
    if (itemEnd < 0 || itemEnd > end) itemEnd = end;
    if (itemEnd > itemStart) {
      let colon = text.indexOf(':', itemStart);
      if (colon < 0 || colon > itemEnd) colon = -1;
      const name = sanitize(text, itemStart, colon < 0 ? itemEnd : colon, TAG_NAME);
      const value = colon < 0 ? 'true' : sanitize(text, colon + 1, itemEnd, TAG_VALUE);
      if (name.length === 0 || value.length === 0) return 'invalid_tag';
      tags.push([name, value]);
    }
    itemStart = itemEnd + 1;
  }
  return undefined;
}

/** Set by resolveName when it returns undefined: a name may itself read like a reason, so it cannot be one. */
let nameProblem: RejectReason = 'invalid_path';

/**
 * The canonical name of key `line[0, keyEnd)` with DogStatsD tags in `line[tagsStart, tagsEnd)` (if
 * tagsStart >= 0), or undefined with the reason in nameProblem.
 */
function resolveName(line: string, keyEnd: number, tagsStart: number, tagsEnd: number): string | undefined {
  const key = sanitize(line, 0, keyEnd, KEY);
  let path = key;
  let keyTags: readonly Tag[] = [];
  if (key.indexOf(';') >= 0) {
    const parsed = parseMetricName(key);
    if (typeof parsed === 'string') return refuseName(parsed);
    if (tagsStart < 0) return parsed.canonical;
    path = parsed.path;
    keyTags = parsed.tags;
  } else if (!isValidPath(key)) return refuseName('invalid_path');
  if (tagsStart < 0) return key;

  const raw: Tag[] = keyTags.slice();
  const problem = parseDogTags(line, tagsStart, tagsEnd, raw);
  if (problem) return refuseName(problem);
  const tags = normalizeTags(raw);
  if (typeof tags === 'string') return refuseName(tags);
  return canonicalName(path, tags);
}

function refuseName(reason: RejectReason): undefined {
  nameProblem = reason;
  return undefined;
}

/** Where the DogStatsD tags of a line start (after `|#`) and end, and where the metric part ends. */
interface Sections {
  metricEnd: number;
  tagsStart: number;
  tagsEnd: number;
}

/** Splits off the tag section; returns malformed_line when what follows the tags is not a container id. */
function findSections(line: string, sections: Sections): RejectReason | undefined {
  const end = line.length;
  const marker = line.indexOf('|#');
  if (marker < 0) {
    sections.metricEnd = end;
    sections.tagsStart = -1;
    sections.tagsEnd = -1;
    return undefined;
  }
  sections.metricEnd = marker;
  sections.tagsStart = marker + 2;
  let tagsEnd = line.indexOf('|', marker + 2);
  if (tagsEnd < 0) tagsEnd = end;
  sections.tagsEnd = tagsEnd;
  // After the tags only container ids may follow: `|c:<id>`.
  let i = tagsEnd;
  while (i < end) {
    if (line.charCodeAt(i + 1) !== 0x63 /* c */ || line.charCodeAt(i + 2) !== COLON) return 'malformed_line';
    const next = line.indexOf('|', i + 1);
    i = next < 0 ? end : next;
  }
  return undefined;
}

/** The reference daemon trims the type field, so `a:1|c ` is a counter there; here too. */
function trimTrailingBlanks(line: string): string {
  const last = line.charCodeAt(line.length - 1);
  return last === 0x20 || last === 0x09 ? line.trimEnd() : line;
}

const scratchSections: Sections = { metricEnd: 0, tagsStart: -1, tagsEnd: -1 };

/**
 * The canonical name a StatsD line's samples get, for routing a line whose key is not canonical as bytes.
 * Only the key and tags are checked; values are left to parseStatsdLine.
 */
export function statsdCanonicalName(line: string): { name: string } | RejectReason {
  line = trimTrailingBlanks(line);
  const problem = findSections(line, scratchSections);
  if (problem) return problem;
  const colon = line.indexOf(':');
  if (colon < 0 || colon >= scratchSections.metricEnd) return 'malformed_line';
  const name = resolveName(line, colon, scratchSections.tagsStart, scratchSections.tagsEnd);
  return name === undefined ? nameProblem : { name };
}

function typeOf(line: string, start: number, end: number): StatsdType | undefined {
  const length = end - start;
  const c = line.charCodeAt(start);
  if (length === 1) {
    if (c === 0x63) return 'c';
    if (c === 0x67) return 'g';
    if (c === 0x73) return 's';
    if (c === 0x68) return 'h';
    if (c === 0x64) return 'd';
  } else if (length === 2 && c === 0x6d /* m */ && line.charCodeAt(start + 1) === 0x73 /* s */) return 'ms';
  return undefined;
}

/**
 * Parses one StatsD line (no newline) and pushes one sample per value onto `out`. Returns the reason when the
 * line is refused, in which case `out` is left as it was.
 */
export function parseStatsdLine(line: string, out: StatsdSample[]): RejectReason | undefined {
  line = trimTrailingBlanks(line);
  const sections = scratchSections;
  const structural = findSections(line, sections);
  if (structural) return structural;
  const metricEnd = sections.metricEnd;
  const colon = line.indexOf(':');
  if (colon < 0 || colon >= metricEnd) return 'malformed_line';
  const name = resolveName(line, colon, sections.tagsStart, sections.tagsEnd);
  if (name === undefined) return nameProblem;

  const initialLength = out.length;
  const fail = (reason: RejectReason): RejectReason => {
    out.length = initialLength;
    return reason;
  };
  let groupStart = colon + 1;
  while (groupStart < metricEnd) {
    // A group: `v[:v...]|type[|@rate][|c:id]`; its values end at the first `|`.
    const pipe = line.indexOf('|', groupStart);
    if (pipe < 0 || pipe >= metricEnd) return fail('malformed_line');
    let i = pipe + 1;
    const typeStart = i;
    while (i < metricEnd && line.charCodeAt(i) !== PIPE && line.charCodeAt(i) !== COLON) i++;
    if (i === typeStart) return fail('malformed_line');
    const type = typeOf(line, typeStart, i);
    if (type === undefined) return fail('unknown_type');
    let sampleRate = 1;
    while (i < metricEnd && line.charCodeAt(i) === PIPE) {
      const fieldStart = i + 1;
      const first = line.charCodeAt(fieldStart);
      if (first === AT) {
        i = fieldStart + 1;
        while (i < metricEnd && line.charCodeAt(i) !== PIPE && line.charCodeAt(i) !== COLON) i++;
        const rate = parseDecimal(line, fieldStart + 1, i);
        // A rate so small that 1/rate overflows (@1e-320) would make the counter +Infinity: refused.
        if (rate === undefined || !(rate > 0 && rate <= 1) || !Number.isFinite(1 / rate))
          return fail('invalid_sample_rate');
        sampleRate = rate;
      } else if (first === 0x63 /* c */ && line.charCodeAt(fieldStart + 1) === COLON) {
        // A container id may hold `:`; it runs to the next `|` and nothing but fields may follow it.
        const next = line.indexOf('|', fieldStart);
        i = next < 0 || next > metricEnd ? metricEnd : next;
        if (i === metricEnd) break;
      } else return fail('malformed_line');
    }
    if (i < metricEnd && line.charCodeAt(i) !== COLON) return fail('malformed_line');

    const problem = pushValues(line, groupStart, pipe, name, type, sampleRate, out);
    if (problem) return fail(problem);
    groupStart = i + 1;
    if (i + 1 === metricEnd) return fail('malformed_line'); // a trailing `:` announces a value that never comes
  }
  if (out.length === initialLength) return fail('malformed_line');
  return undefined;
}

function pushValues(
  line: string,
  start: number,
  end: number,
  name: string,
  type: StatsdType,
  sampleRate: number,
  out: StatsdSample[],
): RejectReason | undefined {
  let valueStart = start;
  while (valueStart <= end) {
    let valueEnd = line.indexOf(':', valueStart);
    if (valueEnd < 0 || valueEnd > end) valueEnd = end;
    if (type === 's') {
      const member = valueEnd === valueStart ? '0' : line.slice(valueStart, valueEnd);
      out.push({ name, type, value: NaN, member, sampleRate, gaugeDelta: false });
    } else {
      const value = parseDecimal(line, valueStart, valueEnd);
      if (value === undefined) return 'invalid_value';
      if (value !== value) return 'nan_value';
      if (value === Infinity || value === -Infinity) return 'invalid_value';
      if (type === 'ms' && value < 0) return 'invalid_value';
      const sign = line.charCodeAt(valueStart);
      const gaugeDelta = type === 'g' && (sign === 0x2b || sign === 0x2d);
      out.push({ name, type, value, member: '', sampleRate, gaugeDelta });
    }
    valueStart = valueEnd + 1;
  }
  return undefined;
}

/**
 * Finds the key of the StatsD line `buf[start, end)` from bytes. `canonical` is true when the key bytes are
 * already the samples' name: only `[a-zA-Z0-9_\-.]`, a valid path, and no DogStatsD tags. Otherwise decode the
 * line and use statsdCanonicalName. Refuses lines without `:` or `|` and plain keys that are invalid paths.
 */
export function locateStatsdKey(
  buf: Uint8Array,
  start: number,
  end: number,
  out: KeyLocation = new KeyLocation(),
): KeyLocation | RejectReason {
  let plain = true;
  let badPath = false;
  let nodeLength = 0;
  let i = start;
  for (; i < end; i++) {
    const c = buf[i]!;
    if (c === COLON) break;
    const kind = PLAIN_KEY_BYTE[c];
    if (kind === 1) nodeLength++;
    else if (kind === 2) {
      if (nodeLength === 0) badPath = true;
      nodeLength = 0;
    } else plain = false;
  }
  if (i === end) return 'malformed_line';
  const keyEnd = i;
  if (nodeLength === 0) badPath = true;
  let sawPipe = false;
  for (i = keyEnd + 1; i < end; i++) {
    if (buf[i] === PIPE) {
      sawPipe = true;
      if (buf[i + 1] === HASH && i + 1 < end) {
        plain = false;
        break;
      }
    }
  }
  if (!sawPipe) return 'malformed_line';
  if (plain && badPath) return 'invalid_path';
  out.keyStart = start;
  out.keyEnd = keyEnd;
  out.canonical = plain;
  return out;
}
