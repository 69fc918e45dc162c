import { sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { canonicalFromRelativePath, isStorableWhisperName, whisperRelativePath } from '@carillon/writers';

describe('whisper layout', () => {
  it('reads an untagged series under _tagged back as itself, not as a tagged one', () => {
    const untagged = '_tagged.abc.def.x';
    expect(canonicalFromRelativePath(whisperRelativePath(untagged)!)).toBe(untagged);
    const tagged = 'cpu.load;host=a.b';
    expect(canonicalFromRelativePath(whisperRelativePath(tagged)!)).toBe(tagged);
  });

  it('refuses names no file can hold: a node over 255 bytes, a path over 4 096, a tag value with /', () => {
    const dataDir = '/var/lib/carillon'.length;
    expect(isStorableWhisperName(`a.${'n'.repeat(200)}.b`, dataDir)).toBe(true);
    expect(isStorableWhisperName(`a.${'n'.repeat(256)}.b`, dataDir)).toBe(false);
    // The file name needs room for `.wsp` and the creation temp suffix.
    expect(isStorableWhisperName(`a.${'n'.repeat(240)}`, dataDir)).toBe(false);
    const deep = Array.from({ length: 30 }, () => 'n'.repeat(150)).join('.');
    expect(isStorableWhisperName(deep, dataDir)).toBe(false);
    expect(isStorableWhisperName('a.b;path=x/y', dataDir)).toBe(false);
    // A tagged name is one file name, dots as _DOT_.
    expect(isStorableWhisperName(`a.b;k=${'v'.repeat(100)}`, dataDir)).toBe(true);
    expect(isStorableWhisperName(`a.b;k=${'v.'.repeat(60)}v`, dataDir)).toBe(false);
    expect(whisperRelativePath('a.b')).toBe(['a', 'b.wsp'].join(sep));
  });
});
