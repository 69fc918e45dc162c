import { QueryError } from './errors.js';

/**
 * A parsed render target, as graphite-web's grammar (render/grammar.py) reads it: a function call with positional
 * and keyword arguments, a path expression (globs, `{a,b}` lists and `\`-escaped symbols kept), or a literal.
 * Strings keep their text between the quotes verbatim, backslashes included, as graphite-web does (`"\1 A"` is
 * the four characters `\1 A`). `a | f(x)` is the call `f(a, x)`.
 */
export type TargetExpression =
  | { kind: 'call'; name: string; args: TargetExpression[]; kwargs: KeywordArgument[]; raw: string; position: number }
  | { kind: 'path'; path: string; position: number }
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number; integer: boolean }
  | { kind: 'boolean'; value: boolean }
  | { kind: 'none' };

export interface KeywordArgument {
  name: string;
  value: TargetExpression;
}

/** Throws QueryError naming the 1-based character where the target stops making sense. */
export function parseTarget(target: string, maxDepth = 64): TargetExpression {
  const parser = new Parser(target, maxDepth);
  const expression = parser.expression(0);
  parser.skipSpace();
  if (!parser.done()) parser.fail('unexpected text after the expression');
  return expression;
}

/** The first path expression in a target or series name (graphite-web's _getFirstPathExpression). */
/** Whether `e` calls the function `name` anywhere in it (its arguments and keyword arguments included). */
export function callsFunction(e: TargetExpression, name: string): boolean {
  if (e.kind !== 'call') return false;
  return (
    e.name === name || e.args.some((a) => callsFunction(a, name)) || e.kwargs.some((k) => callsFunction(k.value, name))
  );
}

export function firstPathExpression(text: string): string | undefined {
  let expression: TargetExpression;
  try {
    expression = parseTarget(text);
  } catch {
    return undefined;
  }
  while (expression.kind === 'call') {
    if (expression.args.length === 0) return undefined;
    expression = expression.args[0]!;
  }
  return expression.kind === 'path' ? expression.path : undefined;
}

const NAME = /[A-Za-z_][A-Za-z0-9_]*/y;
const NUMBER = /-?\d+(?:\.\d+)?(?:[eE]-?\d+)?/y;
/** pyparsing's quotedString: no raw newlines; a backslash escapes the next character; doubled quotes allowed. */
const DOUBLE_QUOTED = /"(?:[^"\n\r\\]|""|\\(?:[^x]|x[0-9a-fA-F]+))*"/y;
const SINGLE_QUOTED = /'(?:[^'\n\r\\]|''|\\(?:[^x]|x[0-9a-fA-F]+))*'/y;
/** Characters that end a path element: grammar.py's symbols. Whitespace ends it too. */
const SYMBOLS = `(){},.'"\\|`;
const ESCAPABLE = `${SYMBOLS}=`;

function isSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\r';
}

/** Printable ASCII (and any non-ASCII, as UTF8_METRICS allows) that is not a symbol. */
function isMetricChar(c: string): boolean {
  const code = c.codePointAt(0)!;
  if (code > 126) return true;
  return code > 32 && !SYMBOLS.includes(c);
}

class Parser {
  private pos = 0;
  constructor(
    private readonly text: string,
    private readonly maxDepth: number,
  ) {}

  done(): boolean {
    return this.pos >= this.text.length;
  }

  fail(problem: string, at = this.pos): never {
    throw new QueryError(`invalid target "${this.text}" at character ${at + 1}: ${problem}`);
  }

  skipSpace(): void {
    while (isSpace(this.text[this.pos])) this.pos++;
  }

  private peekAfterSpace(from: number): string | undefined {
    let i = from;
    while (isSpace(this.text[i])) i++;
    return this.text[i];
  }

  /** A literal counts only where an argument can end: before `,`, `)` or the end (grammar.py's afterNumber). */
  private endsArgument(from: number): boolean {
    const c = this.peekAfterSpace(from);
    return c === undefined || c === ',' || c === ')';
  }

  /** A caseless keyword: the word, not followed by a name character. */
  private keyword(word: string): boolean {
    const end = this.pos + word.length;
    if (this.text.slice(this.pos, end).toLowerCase() !== word) return false;
    const next = this.text[end];
    if (next !== undefined && /[A-Za-z0-9_$]/.test(next)) return false;
    this.pos = end;
    return true;
  }

  /** expression: (call | path) followed by `| call` pipes. */
  expression(depth: number): TargetExpression {
    if (depth > this.maxDepth) this.fail(`nested deeper than ${this.maxDepth} calls`);
    this.skipSpace();
    let expression = this.callOrPath(depth);
    while (this.peekAfterSpace(this.pos) === '|') {
      this.skipSpace();
      this.pos++;
      this.skipSpace();
      const start = this.pos;
      const piped = this.callOrPath(depth);
      if (piped.kind !== 'call') this.fail('expected a function call after "|"', start);
      expression = { ...piped, args: [expression, ...piped.args] };
    }
    return expression;
  }

  private callOrPath(depth: number): TargetExpression {
    if (this.done()) this.fail('expected a series path or a function call');
    const start = this.pos;
    NAME.lastIndex = start;
    const name = NAME.exec(this.text);
    if (name && this.peekAfterSpace(start + name[0].length) === '(') {
      this.pos = start + name[0].length;
      this.skipSpace();
      this.pos++;
      const { args, kwargs } = this.arguments(depth);
      return { kind: 'call', name: name[0], args, kwargs, raw: this.text.slice(start, this.pos), position: start };
    }
    return { kind: 'path', path: this.path(), position: start };
  }

  /** An argument: boolean, number, None, string, inf, or an expression (in grammar.py's order). */
  private argument(depth: number): TargetExpression {
    this.skipSpace();
    const start = this.pos;
    if (this.keyword('true') || this.keyword('false'))
      return { kind: 'boolean', value: this.text.slice(start, this.pos).toLowerCase() === 'true' };
    NUMBER.lastIndex = start;
    const number = NUMBER.exec(this.text);
    if (number && this.endsArgument(start + number[0].length)) {
      this.pos = start + number[0].length;
      return { kind: 'number', value: Number(number[0]), integer: /^-?\d+$/.test(number[0]) };
    }
    if (this.keyword('none')) return { kind: 'none' };
    const quote = this.text[start];
    if (quote === '"' || quote === "'") {
      const pattern = quote === '"' ? DOUBLE_QUOTED : SINGLE_QUOTED;
      pattern.lastIndex = start;
      const quoted = pattern.exec(this.text);
      if (!quoted) this.fail(`unterminated string (missing ${quote})`);
      this.pos = start + quoted[0].length;
      return { kind: 'string', value: quoted[0].slice(1, -1) };
    }
    if (this.keyword('inf')) return { kind: 'number', value: Infinity, integer: false };
    return this.expression(depth + 1);
  }

  /** `name=` starting a keyword argument, or undefined (the position is left alone). */
  private keywordName(): string | undefined {
    NAME.lastIndex = this.pos;
    const name = NAME.exec(this.text);
    if (!name) return undefined;
    let i = this.pos + name[0].length;
    while (isSpace(this.text[i])) i++;
    if (this.text[i] !== '=') return undefined;
    this.pos = i + 1;
    return name[0];
  }

  private arguments(depth: number): { args: TargetExpression[]; kwargs: KeywordArgument[] } {
    const args: TargetExpression[] = [];
    const kwargs: KeywordArgument[] = [];
    this.skipSpace();
    if (this.text[this.pos] === ')') {
      this.pos++;
      return { args, kwargs };
    }
    while (true) {
      this.skipSpace();
      const at = this.pos;
      const keyword = this.keywordName();
      if (keyword !== undefined) kwargs.push({ name: keyword, value: this.argument(depth) });
      else if (kwargs.length > 0) this.fail('a positional argument cannot follow a keyword argument', at);
      else args.push(this.argument(depth));
      this.skipSpace();
      const c = this.text[this.pos];
      if (c === ')') {
        this.pos++;
        return { args, kwargs };
      }
      if (c !== ',') this.fail(c === undefined ? 'missing ")"' : `expected "," or ")" but found "${c}"`);
      this.pos++;
    }
  }

  /** A path expression: dot-separated elements of metric characters, `\`-escaped symbols and `{a,b}` lists. */
  private path(): string {
    const start = this.pos;
    let path = '';
    while (true) {
      const element = this.pathElement();
      if (element === '') this.fail('expected a series path, a function call, a string or a number');
      path += element;
      if (this.text[this.pos] !== '.') break;
      path += '.';
      this.pos++;
    }
    if (this.pos === start) this.fail('expected a series path');
    return path;
  }

  private pathElement(): string {
    let element = '';
    while (!this.done()) {
      const c = this.text[this.pos]!;
      if (c === '\\') {
        const next = this.text[this.pos + 1];
        if (next === undefined || !ESCAPABLE.includes(next)) this.fail('"\\" escapes only ( ) { } , . \' " \\ | =');
        element += next;
        this.pos += 2;
      } else if (c === '{') {
        element += this.matchEnum();
      } else if (isMetricChar(c)) {
        element += c;
        this.pos++;
      } else break;
    }
    return element;
  }

  /** `{a,b,c}`: comma-separated partial elements, no dots. */
  private matchEnum(): string {
    const open = this.pos;
    this.pos++;
    const parts: string[] = [];
    while (true) {
      let part = '';
      while (!this.done()) {
        const c = this.text[this.pos]!;
        if (c === '\\' && this.text[this.pos + 1] !== undefined && ESCAPABLE.includes(this.text[this.pos + 1]!)) {
          part += this.text[this.pos + 1];
          this.pos += 2;
        } else if (isMetricChar(c)) {
          part += c;
          this.pos++;
        } else break;
      }
      if (part === '') this.fail('expected a name inside "{...}"');
      parts.push(part);
      const c = this.text[this.pos];
      if (c === ',') this.pos++;
      else if (c === '}') {
        this.pos++;
        return `{${parts.join(',')}}`;
      } else this.fail(`"{" at character ${open + 1} is not closed`);
    }
  }
}
