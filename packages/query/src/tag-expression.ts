import { QueryError } from './errors.js';
import { compileAnchoredRegex } from './regex.js';

/** One `seriesByTag` spec: `k=v`, `k!=v`, `k=~re`, `k!=~re`. */
export interface TagExpression {
  tag: string;
  operator: '=' | '!=' | '=~' | '!=~';
  value: string;
  /** Tests a series' value of `tag` ('' when the series lacks the tag, as Graphite does). */
  test(value: string): boolean;
  /** True when the spec can only hold for a series that has the tag (so it can select candidates). */
  requiresValue: boolean;
  /** The original text, for messages. */
  text: string;
}

const SPEC = /^([^!=~;]+?)(!=~|=~|!=|=)(.*)$/s;

/** Parses one spec. Regexes are anchored at the start only, as Graphite's `re.match` is. */
export function parseTagExpression(text: string): TagExpression {
  const match = SPEC.exec(text.trim());
  if (!match)
    throw new QueryError(`invalid tag expression "${text}": expected tag=value, tag!=value, tag=~regex or tag!=~regex`);
  const tag = match[1]!.trim();
  const operator = match[2] as TagExpression['operator'];
  const value = match[3]!.trim();
  let test: (v: string) => boolean;
  if (operator === '=' || operator === '!=') {
    test = operator === '=' ? (v) => v === value : (v) => v !== value;
  } else {
    const regexp = compileAnchoredRegex(value, `tag expression "${text}"`);
    test = operator === '=~' ? (v) => regexp.test(v) : (v) => !regexp.test(v);
  }
  return { tag, operator, value, test, requiresValue: !test(''), text };
}

/** Parses the specs of one query; Graphite requires at least one that selects series by a non-empty value. */
export function parseTagQuery(texts: readonly string[]): TagExpression[] {
  if (texts.length === 0) throw new QueryError('a tag query needs at least one expression');
  const expressions = texts.map(parseTagExpression);
  if (!expressions.some((e) => e.requiresValue))
    throw new QueryError(
      `tag query ${texts.map((t) => `'${t}'`).join(', ')} needs at least one expression that requires a non-empty value`,
    );
  return expressions;
}
