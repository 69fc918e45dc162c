import { describe, expect, it } from 'vitest';
import { checkNameLength, checkNameTags, REJECT_REASONS, type NameLimits } from '@carillon/protocols';

const limits: NameLimits = { maxLength: 32, maxTags: 2, maxTagLength: 8 };

describe('name limits', () => {
  it('bounds the name in UTF-8 bytes, not characters', () => {
    expect(checkNameLength('a'.repeat(32), limits)).toBeUndefined();
    expect(checkNameLength('a'.repeat(33), limits)).toBe('name_too_long');
    // 11 characters of 3 bytes each: 33 bytes.
    expect(checkNameLength('€'.repeat(11), limits)).toBe('name_too_long');
    expect(checkNameLength('€'.repeat(10), limits)).toBeUndefined();
  });

  it('bounds the tag count and each tag as name=value', () => {
    expect(checkNameTags('a.b;x=1;y=2', limits)).toBeUndefined();
    expect(checkNameTags('a.b;x=1;y=2;z=3', limits)).toBe('too_many_tags');
    expect(checkNameTags('a.b;x=1234567', limits)).toBe('tag_too_long');
    expect(checkNameTags('a.b;x=123456', limits)).toBeUndefined();
    expect(checkNameTags('untagged.path', limits)).toBeUndefined();
  });

  it('has a counter for every refusal', () => {
    for (const reason of ['name_too_long', 'too_many_tags', 'tag_too_long', 'unstorable_name', 'index_full'])
      expect(REJECT_REASONS).toContain(reason);
  });
});
