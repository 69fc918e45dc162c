/**
 * Carbon's pickle protocol, parsed safely: one frame's payload is a Python pickle of `[(path, (timestamp, value)),
 * ...]` (lists or tuples), as carbon-relay, carbon-c-relay and collectd's write_graphite send it. This is a small
 * pickle machine that knows only the opcodes those senders use — lists, tuples, strings, ints, floats, booleans,
 * the memo, protocol and frame markers — in protocols 0 to 5. Anything else (GLOBAL, REDUCE, BUILD, dicts,
 * objects: the opcodes that make unpickling run code) refuses the whole frame with a reason. Pure: bytes in,
 * points or a reason out; framing and sockets live in pickle-framing.ts.
 */

/** One point of a frame, as carbon reads it: `float(timestamp)`, `float(value)`. */
export interface PicklePoint {
  path: string;
  timestamp: number;
  value: number;
}

export const PICKLE_REJECT_REASONS = [
  /** An opcode outside the safe set (or one we do not know). */
  'unsafe_opcode',
  /** Not a well-formed pickle: truncated, a bad argument, a stack or memo misuse, no STOP. */
  'malformed_pickle',
  /** Well-formed, but not a list of (path, (timestamp, value)). */
  'not_a_metric_list',
  /** More items than the frame may hold, or nested deeper than a metric list needs. */
  'too_many_items',
] as const;
export type PickleRejectReason = (typeof PICKLE_REJECT_REASONS)[number];

export interface PickleLimits {
  /** Items (list elements) one frame may hold; past it the frame is refused (bounds memory per frame). */
  maxItems: number;
}

type Value = string | number | boolean | null | Value[];

/** A marker on the stack (MARK). */
const MARK = Symbol('mark');
type StackItem = Value | typeof MARK;

class PickleError extends Error {
  constructor(readonly reason: PickleRejectReason) {
    super(reason);
  }
}

/** Deepest nesting a metric list needs: the list, an item, its (timestamp, value). */
const MAX_DEPTH = 3;

/** Decodes one frame's payload into points, or the reason it is refused (the whole frame: no partial frames). */
export function parsePickleFrame(bytes: Uint8Array, limits: PickleLimits): PicklePoint[] | PickleRejectReason {
  let root: Value;
  try {
    root = runPickle(bytes, limits);
  } catch (error) {
    if (error instanceof PickleError) return error.reason;
    throw error;
  }
  if (!Array.isArray(root)) return 'not_a_metric_list';
  const points: PicklePoint[] = [];
  for (const item of root) {
    const point = metricOf(item);
    if (point === undefined) return 'not_a_metric_list';
    points.push(point);
  }
  return points;
}

/** `(path, (timestamp, value))` with carbon's coercions: `float()` of numbers and numeric strings. */
function metricOf(item: Value): PicklePoint | undefined {
  if (!Array.isArray(item) || item.length !== 2) return undefined;
  const [path, datapoint] = item;
  if (typeof path !== 'string' || !Array.isArray(datapoint) || datapoint.length !== 2) return undefined;
  const timestamp = pythonFloat(datapoint[0]!);
  const value = pythonFloat(datapoint[1]!);
  if (timestamp === undefined || value === undefined) return undefined;
  return { path, timestamp, value };
}

/** Python's float() of the values a pickle can hold here; undefined where it would raise. */
function pythonFloat(value: Value): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'string') {
    const text = value.trim().toLowerCase();
    if (/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(text)) return Number(text);
    if (/^[+-]?(inf|infinity)$/.test(text)) return text.startsWith('-') ? -Infinity : Infinity;
    if (/^[+-]?nan$/.test(text)) return NaN;
  }
  return undefined;
}

/** Runs the pickle machine over the safe opcodes; returns the value STOP leaves. */
function runPickle(bytes: Uint8Array, limits: PickleLimits): Value {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: StackItem[] = [];
  const memo = new Map<number, Value>();
  let items = 0;
  let pos = 0;

  const need = (n: number): number => {
    if (pos + n > bytes.length) throw new PickleError('malformed_pickle');
    const at = pos;
    pos += n;
    return at;
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) throw new PickleError('malformed_pickle');
    const text = latin1(bytes, pos, end);
    pos = end + 1;
    return text;
  };
  const pop = (): Value => {
    const value = stack.pop();
    if (value === undefined || value === MARK) throw new PickleError('malformed_pickle');
    return value;
  };
  const top = (): Value => {
    const value = stack[stack.length - 1];
    if (value === undefined || value === MARK) throw new PickleError('malformed_pickle');
    return value;
  };
  const popMark = (): Value[] => {
    const at = stack.lastIndexOf(MARK);
    if (at < 0) throw new PickleError('malformed_pickle');
    const values = stack.splice(at + 1) as Value[];
    stack.pop();
    return values;
  };
  const count = (n: number): void => {
    items += n;
    if (items > limits.maxItems) throw new PickleError('too_many_items');
  };
  const pushContainer = (values: Value[]): void => {
    if (values.some((v) => Array.isArray(v) && depthOf(v) >= MAX_DEPTH)) throw new PickleError('too_many_items');
    count(values.length);
    stack.push(values);
  };
  const list = (): Value[] => {
    const value = top();
    if (!Array.isArray(value) || Object.isFrozen(value)) throw new PickleError('malformed_pickle');
    return value;
  };
  const append = (values: Value[]): void => {
    const target = list();
    // A list nested in itself (through the memo) is no metric list, and would make every walk over it endless.
    if (values.some((v) => v === target || (Array.isArray(v) && depthOf(v) >= MAX_DEPTH)))
      throw new PickleError('too_many_items');
    count(values.length);
    for (const v of values) target.push(v);
  };
  /** Tuples are frozen arrays: APPEND onto one is malformed, as in Python. */
  const tuple = (values: Value[]): void => {
    pushContainer(values);
    Object.freeze(values);
  };

  while (pos < bytes.length) {
    const op = bytes[need(1)]!;
    switch (op) {
      case 0x80: // PROTO
        if (bytes[need(1)]! > 5) throw new PickleError('malformed_pickle');
        break;
      case 0x95: // FRAME: an 8-byte length hint, nothing to do
        need(8);
        break;
      case 0x2e: {
        // STOP
        const result = pop();
        if (stack.length > 0) throw new PickleError('malformed_pickle');
        return result;
      }
      case 0x28: // MARK
        stack.push(MARK);
        break;
      case 0x5d: // EMPTY_LIST
        pushContainer([]);
        break;
      case 0x6c: // LIST
        pushContainer(popMark());
        break;
      case 0x61: // APPEND
        append([pop()]);
        break;
      case 0x65: // APPENDS
        append(popMark());
        break;
      case 0x29: // EMPTY_TUPLE
        tuple([]);
        break;
      case 0x74: // TUPLE
        tuple(popMark());
        break;
      case 0x85: // TUPLE1
        tuple([pop()]);
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        tuple([pop(), b]);
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        tuple([pop(), b, c]);
        break;
      }
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x49: {
        // INT: decimal line; "01"/"00" are True/False in protocol 0
        const text = line();
        if (text === '01' || text === '00') stack.push(text === '01');
        else stack.push(decimalInt(text));
        break;
      }
      case 0x4c: // LONG: decimal line with a trailing L
        stack.push(decimalInt(line().replace(/L$/, '')));
        break;
      case 0x4a: // BININT
        stack.push(view.getInt32(need(4), true));
        break;
      case 0x4b: // BININT1
        stack.push(bytes[need(1)]!);
        break;
      case 0x4d: // BININT2
        stack.push(view.getUint16(need(2), true));
        break;
      case 0x8a: // LONG1
        stack.push(littleEndianInt(bytes, bytes[need(1)]!, need));
        break;
      case 0x8b: {
        // LONG4
        const n = view.getInt32(need(4), true);
        if (n < 0 || n > 16) throw new PickleError('malformed_pickle');
        stack.push(littleEndianInt(bytes, n, need));
        break;
      }
      case 0x46: {
        // FLOAT: repr line
        const value = pythonFloat(line());
        if (value === undefined) throw new PickleError('malformed_pickle');
        stack.push(value);
        break;
      }
      case 0x47: // BINFLOAT: 8-byte big-endian double
        stack.push(view.getFloat64(need(8), false));
        break;
      case 0x53: // STRING: a quoted repr line (protocol 0)
        stack.push(quotedString(line()));
        break;
      case 0x56: // UNICODE: raw-unicode-escape line
        stack.push(rawUnicodeEscape(line()));
        break;
      case 0x54: // BINSTRING
        stack.push(latin1Of(view.getInt32(need(4), true)));
        break;
      case 0x55: // SHORT_BINSTRING
        stack.push(latin1Of(bytes[need(1)]!));
        break;
      case 0x58: // BINUNICODE
        stack.push(utf8Of(view.getUint32(need(4), true)));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(utf8Of(bytes[need(1)]!));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(utf8Of(Number(view.getBigUint64(need(8), true))));
        break;
      case 0x42: // BINBYTES (Python 3 bytes): read as UTF-8, as a path of bytes would be
        stack.push(utf8Of(view.getUint32(need(4), true)));
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(utf8Of(bytes[need(1)]!));
        break;
      case 0x70: // PUT
        memo.set(decimalInt(line()), top());
        break;
      case 0x71: // BINPUT
        memo.set(bytes[need(1)]!, top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(view.getUint32(need(4), true), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x67: // GET
        stack.push(fromMemo(memo, decimalInt(line())));
        break;
      case 0x68: // BINGET
        stack.push(fromMemo(memo, bytes[need(1)]!));
        break;
      case 0x6a: // LONG_BINGET
        stack.push(fromMemo(memo, view.getUint32(need(4), true)));
        break;
      default:
        throw new PickleError('unsafe_opcode');
    }
  }
  throw new PickleError('malformed_pickle');

  function latin1Of(length: number): string {
    if (length < 0) throw new PickleError('malformed_pickle');
    const at = need(length);
    return latin1(bytes, at, at + length);
  }
  function utf8Of(length: number): string {
    const at = need(length);
    return Buffer.from(bytes.buffer, bytes.byteOffset + at, length).toString('utf8');
  }
}

/**
 * Nesting depth of a value (a scalar is 0), looked at no deeper than MAX_DEPTH + 1: containers here are never
 * deeper than MAX_DEPTH, and the memo could make a list hold itself, which would otherwise recurse forever.
 */
function depthOf(value: Value, budget = MAX_DEPTH + 1): number {
  if (!Array.isArray(value) || budget === 0) return 0;
  let deepest = 0;
  for (const v of value) if (Array.isArray(v)) deepest = Math.max(deepest, depthOf(v, budget - 1));
  return deepest + 1;
}

function fromMemo(memo: Map<number, Value>, key: number): Value {
  const value = memo.get(key);
  if (value === undefined) throw new PickleError('malformed_pickle');
  // A memoized container pushed again shares its items: count nothing new (its items were counted once).
  return value;
}

function decimalInt(text: string): number {
  if (!/^[+-]?\d+$/.test(text.trim())) throw new PickleError('malformed_pickle');
  return Number(text.trim());
}

/** Two's-complement little-endian integer of `n` bytes (LONG1/LONG4), as a double (timestamps and values fit). */
function littleEndianInt(bytes: Uint8Array, n: number, need: (n: number) => number): number {
  const at = need(n);
  if (n === 0) return 0;
  let value = 0n;
  for (let i = n - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[at + i]!);
  if (bytes[at + n - 1]! & 0x80) value -= 1n << BigInt(8 * n);
  return Number(value);
}

function latin1(bytes: Uint8Array, start: number, end: number): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('latin1');
}

/** Protocol 0's STRING argument: a Python repr, quoted with ' or ", with backslash escapes. */
function quotedString(text: string): string {
  const quote = text[0];
  if (text.length < 2 || (quote !== "'" && quote !== '"') || text[text.length - 1] !== quote)
    throw new PickleError('malformed_pickle');
  const body = text.slice(1, -1);
  return body.replace(/\\(x[0-9a-fA-F]{2}|[0-7]{1,3}|.)/g, (_, escape: string) => {
    if (escape[0] === 'x') return String.fromCharCode(parseInt(escape.slice(1), 16));
    if (/^[0-7]/.test(escape)) return String.fromCharCode(parseInt(escape, 8));
    const simple: Record<string, string> = {
      n: '\n',
      t: '\t',
      r: '\r',
      '\\': '\\',
      "'": "'",
      '"': '"',
      a: '\x07',
      b: '\b',
      f: '\f',
      v: '\v',
    };
    return simple[escape] ?? `\\${escape}`;
  });
}

/** Protocol 0's UNICODE argument: raw-unicode-escape (latin-1 with \uXXXX and \UXXXXXXXX). */
function rawUnicodeEscape(text: string): string {
  return text.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_, short?: string, long?: string) =>
    String.fromCodePoint(parseInt((short ?? long)!, 16)),
  );
}
