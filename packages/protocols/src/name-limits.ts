/**
 * Bounds on series names, checked where a line is parsed so a name that is refused is never counted as accepted:
 * the whole name in UTF-8 bytes, the number of tags, each `k=v` in bytes. A store may add its own rule (whisper:
 * what a file name can hold), given as `storable`.
 *
 * Why a hard ceiling of 16 383: V8 hashes a string of more characters by its length alone, so every such name of
 * one length lands in one hash bucket and each Map lookup compares against all of them (61 k names of 16 KB cut
 * ingest to 83 lines/s). Names stay below it.
 */
import { configKey, readSection, type ConfigSource } from '@carillon/core';
import type { RejectReason } from './reasons.js';

/** The longest string V8 hashes by content (String::kMaxHashCalcLength). */
export const MAX_HASHED_NAME_LENGTH = 16_383;

export interface NameLimits {
  /** UTF-8 bytes of the canonical name. */
  maxLength: number;
  maxTags: number;
  /** UTF-8 bytes of one `name=value`. */
  maxTagLength: number;
}

/** PATH_MAX: carbon's whisper files cannot hold a longer name, so Graphite never stored one. */
export const DEFAULT_NAME_LIMITS: NameLimits = { maxLength: 4096, maxTags: 64, maxTagLength: 1024 };

export const NAME_LIMIT_KEYS = {
  maxLength: configKey.integer({
    key: 'names.max_length',
    default: DEFAULT_NAME_LIMITS.maxLength,
    min: 16,
    max: MAX_HASHED_NAME_LENGTH,
    unit: 'bytes',
    description: 'longest series name (UTF-8, tags included); longer ones are refused as name_too_long',
  }),
  maxTags: configKey.integer({
    key: 'names.max_tags',
    default: DEFAULT_NAME_LIMITS.maxTags,
    min: 0,
    unit: 'items',
    description: 'most tags a series may carry; more are refused as too_many_tags',
  }),
  maxTagLength: configKey.integer({
    key: 'names.max_tag_length',
    default: DEFAULT_NAME_LIMITS.maxTagLength,
    min: 3,
    unit: 'bytes',
    description: 'longest tag as name=value (UTF-8); longer ones are refused as tag_too_long',
  }),
} as const;

export function readNameLimits(source: ConfigSource): NameLimits {
  return readSection(source, NAME_LIMIT_KEYS);
}

/** UTF-8 length of `s` without encoding it when it cannot matter (every UTF-16 unit is at most 3 bytes). */
export function utf8Length(s: string, atMost: number): number {
  return s.length * 3 <= atMost ? s.length : Buffer.byteLength(s, 'utf8');
}

/**
 * Why the canonical name `name` is refused, or undefined. The length is checked first and costs nothing, so it
 * runs before any lookup keyed by the name; the tag checks walk the name once.
 */
export function checkNameLength(name: string, limits: NameLimits): RejectReason | undefined {
  if (name.length > limits.maxLength || utf8Length(name, limits.maxLength) > limits.maxLength) return 'name_too_long';
  return undefined;
}

/** Tag count and size of a canonical name (its `;k=v` parts). */
export function checkNameTags(name: string, limits: NameLimits): RejectReason | undefined {
  let semicolon = name.indexOf(';');
  let tags = 0;
  while (semicolon >= 0) {
    const next = name.indexOf(';', semicolon + 1);
    const end = next < 0 ? name.length : next;
    if (++tags > limits.maxTags) return 'too_many_tags';
    const length = end - semicolon - 1;
    if (
      length > limits.maxTagLength ||
      utf8Length(name.slice(semicolon + 1, end), limits.maxTagLength) > limits.maxTagLength
    )
      return 'tag_too_long';
    semicolon = next;
  }
  return undefined;
}
