/**
 * Regular expressions over input the program does not choose (metric names, request parameters) run on RE2JS:
 * matching takes time linear in the text whatever the pattern, so `(a+)+$` against a long name cannot hold the
 * event loop the way a backtracking engine does. RE2 syntax is Python's `re` minus backreferences and lookaround
 * (refused at compile time); `(?P<name>...)` works as in Python.
 */
import { RE2JS } from 're2js';

export interface SafeRegex {
  /** re.search: a match anywhere. */
  test(text: string): boolean;
  /** The named groups of the first match anywhere (a group that took no part undefined), or undefined. */
  namedGroups(text: string): Readonly<Record<string, string | undefined>> | undefined;
  /**
   * re.sub: every non-overlapping match replaced by `expand(groups, named)`, where groups[0] is the whole match
   * and a group that took no part is undefined.
   */
  replace(
    text: string,
    expand: (groups: readonly (string | undefined)[], named: Readonly<Record<string, string | undefined>>) => string,
  ): string;
}

/** A pattern RE2 cannot compile; the message says why. */
export class RegexSyntaxError extends Error {}

export function compileSafeRegex(pattern: string): SafeRegex {
  let re: RE2JS;
  try {
    re = RE2JS.compile(pattern);
  } catch (error) {
    throw new RegexSyntaxError((error as Error).message);
  }
  const names = Object.entries(re.namedGroups());
  const groupCount = re.groupCount();
  return {
    test: (text) => re.matcher(text).find(),
    namedGroups(text) {
      const matcher = re.matcher(text);
      if (!matcher.find()) return undefined;
      const named: Record<string, string | undefined> = {};
      for (const [name, index] of names) named[name] = matcher.group(index) ?? undefined;
      return named;
    },
    replace(text, expand) {
      const matcher = re.matcher(text);
      let out = '';
      let copied = 0;
      let from = 0;
      while (from <= text.length && matcher.find(from)) {
        const start = matcher.start();
        const end = matcher.end();
        const groups: (string | undefined)[] = [];
        for (let i = 0; i <= groupCount; i++) groups.push(matcher.group(i) ?? undefined);
        const named: Record<string, string | undefined> = {};
        for (const [name, index] of names) named[name] = groups[index];
        out += text.slice(copied, start) + expand(groups, named);
        copied = end;
        // an empty match moves on by one character, as Python's re.sub does
        from = end === start ? end + 1 : end;
      }
      return out + text.slice(copied);
    },
  };
}
