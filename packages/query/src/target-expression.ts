import { QueryError } from './errors.js';

/** A parsed render target: a function call, a series path (maybe a glob), or a literal argument. */
export type TargetExpression =
  | { kind: 'call'; name: string; args: TargetExpression[] }
  | { kind: 'path'; path: string }
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number }
  | { kind: 'boolean'; value: boolean };

/**
 * Parses a Graphite target such as `alias(consolidateBy(servers.*.cpu, 'max'), "cpu")`. Paths keep their glob
 * characters, including commas inside `{a,b}`. Throws QueryError naming the position of a syntax error.
 */
export function parseTarget(target: string, maxDepth = 64): TargetExpression {
  const parser = new Parser(target, maxDepth);
  const expression = parser.expression(0);
  parser.skipSpace();
  if (!parser.done()) parser.fail('unexpected text after the expression');
  return expression;
}

const IDENTIFIER = /[A-Za-z_][A-Za-z0-9_]*/y;
const NUMBER = /-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?/y;

class Parser {
  private pos = 0;
  constructor(
    private readonly text: string,
    private readonly maxDepth: number,
  ) {}

  done(): boolean {
    return this.pos >= this.text.length;
  }

  fail(problem: string): never {
    throw new QueryError(`invalid target "${this.text}" at character ${this.pos + 1}: ${problem}`);
  }

  skipSpace(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos]!)) this.pos++;
  }

  /** True when the argument that started at the current position ends at `end`. */
  private endsArgument(end: number): boolean {
    let i = end;
    while (i < this.text.length && /\s/.test(this.text[i]!)) i++;
    return i >= this.text.length || this.text[i] === ',' || this.text[i] === ')';
  }

  expression(depth: number): TargetExpression {
    if (depth > this.maxDepth) this.fail(`nested deeper than ${this.maxDepth} calls`);
    this.skipSpace();
    if (this.done()) this.fail('expected an expression');
    const c = this.text[this.pos]!;
    if (c === '"' || c === "'") return { kind: 'string', value: this.quoted(c) };

    NUMBER.lastIndex = this.pos;
    const number = NUMBER.exec(this.text);
    if (number && this.endsArgument(this.pos + number[0].length)) {
      this.pos += number[0].length;
      return { kind: 'number', value: Number(number[0]) };
    }

    IDENTIFIER.lastIndex = this.pos;
    const identifier = IDENTIFIER.exec(this.text);
    if (identifier) {
      const afterName = this.pos + identifier[0].length;
      let i = afterName;
      while (i < this.text.length && /\s/.test(this.text[i]!)) i++;
      if (this.text[i] === '(') {
        this.pos = i + 1;
        return { kind: 'call', name: identifier[0], args: this.arguments(depth) };
      }
      if ((identifier[0] === 'true' || identifier[0] === 'false') && this.endsArgument(afterName)) {
        this.pos = afterName;
        return { kind: 'boolean', value: identifier[0] === 'true' };
      }
    }
    return { kind: 'path', path: this.path() };
  }

  private arguments(depth: number): TargetExpression[] {
    const args: TargetExpression[] = [];
    this.skipSpace();
    if (this.text[this.pos] === ')') {
      this.pos++;
      return args;
    }
    while (true) {
      args.push(this.expression(depth + 1));
      this.skipSpace();
      const c = this.text[this.pos];
      this.pos++;
      if (c === ')') return args;
      if (c !== ',') {
        this.pos--;
        this.fail(c === undefined ? 'missing ")"' : `expected "," or ")" but found "${c}"`);
      }
    }
  }

  private quoted(quote: string): string {
    let value = '';
    this.pos++;
    while (this.pos < this.text.length) {
      const c = this.text[this.pos++]!;
      if (c === quote) return value;
      if (c === '\\' && this.pos < this.text.length) value += this.text[this.pos++];
      else value += c;
    }
    this.fail(`unterminated string (missing ${quote})`);
  }

  /** A series path: everything up to a `,` or `)` outside `{}` and `[]`, or whitespace. */
  private path(): string {
    const start = this.pos;
    let depth = 0;
    while (this.pos < this.text.length) {
      const c = this.text[this.pos]!;
      if (c === '{' || c === '[') depth++;
      else if ((c === '}' || c === ']') && depth > 0) depth--;
      else if (depth === 0 && (c === ',' || c === ')' || c === '(' || /\s/.test(c))) break;
      this.pos++;
    }
    if (this.text[this.pos] === '(') this.fail('"(" after something that is not a function name');
    if (this.pos === start) this.fail('expected a series path, function, string or number');
    return this.text.slice(start, this.pos);
  }
}
