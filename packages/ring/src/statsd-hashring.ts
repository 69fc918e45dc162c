/**
 * Key placement of the reference StatsD proxy (statsd 0.9.0 proxy.js), so a relay can take over from it without
 * moving any key to another node. The proxy builds `new HashRing({ 'host:port': 100, ... }, 'md5',
 * { replicas: 0 })` from the `hashring` package (3.x); that means, for n nodes:
 *
 * - each node gets `floor((100 / (100 n)) * 40 * n)` points (40 vnodes; the float maths is kept as is, which
 *   gives 39 points when n is 7), and `replicas: 0` is raised to 1 point per vnode;
 * - point i of node `host:port` is the first 4 bytes of MD5(`host:port-i`), read little-endian;
 * - points are sorted by value, ties in node order then vnode order (a stable sort of that insertion order);
 * - a key is the text of the line before its first `:` (raw, unsanitized, tags and all), hashed the same way,
 *   and belongs to the point found by the package's own search (first point >= hash, else point 0).
 *
 * Nothing of the package runs here and there is no LRU: MD5 is computed directly over the key's UTF-8 bytes.
 */
import { ConfigError } from '@carillon/core';

/** vnodes per node in the `hashring` package when none is configured. */
const HASHRING_VNODES = 40;
/** The weight the proxy gives every node. */
const PROXY_WEIGHT = 100;

export class StatsdProxyRing {
  /** Point values, ascending. */
  readonly points: Uint32Array;
  /** `owners[i]`: index into `nodes` of the node at `points[i]`. */
  readonly owners: Uint16Array;

  /** `nodes` as the proxy forms them, `host:port`, in the order of its `nodes` config list. */
  constructor(readonly nodes: readonly string[]) {
    if (nodes.length > 0xffff) throw new ConfigError('ring.members', 'at most 65535 nodes');
    const seen = new Set<string>();
    for (const node of nodes) {
      // The proxy keys its node table by `host:port`, so a repeated node would silently count once there.
      if (seen.has(node)) throw new ConfigError('ring.members', `duplicate node ${node}`);
      seen.add(node);
    }
    const n = nodes.length;
    const total = PROXY_WEIGHT * n;
    // The package's expression, evaluated in its order: (weight / total) * vnodes * servers.length.
    const perNode = n === 0 ? 0 : Math.floor((PROXY_WEIGHT / total) * HASHRING_VNODES * n);
    const values = new Float64Array(n * perNode);
    let at = 0;
    for (let node = 0; node < n; node++)
      for (let vnode = 0; vnode < perNode; vnode++) values[at++] = md5Word(utf8(`${nodes[node]}-${vnode}`));
    // Stable by insertion order, like the package's Array#sort on equal values.
    const order = Array.from({ length: values.length }, (_, i) => i);
    order.sort((a, b) => values[a]! - values[b]! || a - b);
    this.points = Uint32Array.from(order, (i) => values[i]!);
    this.owners = Uint16Array.from(order, (i) => Math.floor(i / perNode));
  }

  /** Index into `nodes` of the node owning `key` (the line's text before its first `:`); -1 if no nodes. */
  nodeOf(key: string): number {
    return this.lookup(md5Word(utf8(key)));
  }

  /**
   * Same as nodeOf for the key bytes `buf[start, end)`. The proxy decodes the datagram as UTF-8 before hashing,
   * so bytes that are not valid UTF-8 are decoded (to U+FFFD) and re-encoded first, as it would.
   */
  nodeOfBytes(buf: Uint8Array, start: number, end: number): number {
    for (let i = start; i < end; i++)
      if (buf[i]! >= 0x80) return this.nodeOf(new TextDecoder().decode(buf.subarray(start, end)));
    return this.lookup(md5Word(buf, start, end));
  }

  /** The package's `find`, step for step (its search and its wrap to point 0 are what decide ties and edges). */
  lookup(hash: number): number {
    const points = this.points;
    const size = points.length;
    if (size === 0) return -1;
    let low = 0;
    let high = size;
    for (;;) {
      const mid = (low + high) >> 1;
      if (mid === size) return this.owners[0]!;
      const middle = points[mid]!;
      const prev = mid === 0 ? 0 : points[mid - 1]!;
      if (hash <= middle && hash > prev) return this.owners[mid]!;
      if (middle < hash) low = mid + 1;
      else high = mid - 1;
      if (low > high) return this.owners[0]!;
    }
  }
}

/** The key the proxy routes a StatsD line by: everything before the first `:`. */
export function statsdProxyKey(line: string): string {
  const colon = line.indexOf(':');
  return colon < 0 ? line : line.slice(0, colon);
}

const encoder = new TextEncoder();
function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

// MD5 (RFC 1321) round constants and shifts.
const K = Int32Array.from({ length: 64 }, (_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) | 0);
const S = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];
const block = new Int32Array(16);

/**
 * The first 4 bytes of MD5(`bytes[start, end)`) as a little-endian unsigned 32-bit number, which is the digest's
 * first state word: what `hashring` takes as a key's (and a point's) position.
 */
export function md5Word(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let a0 = 0x67452301;
  let b0 = 0xefcdab89 | 0;
  let c0 = 0x98badcfe | 0;
  let d0 = 0x10325476;
  const length = end - start;
  // Message + 0x80 + zero padding + 8-byte bit length, in 64-byte blocks.
  const blocks = Math.floor((length + 8) / 64) + 1;
  for (let b = 0; b < blocks; b++) {
    for (let w = 0; w < 16; w++) {
      let word = 0;
      for (let k = 0; k < 4; k++) {
        const pos = b * 64 + w * 4 + k;
        let byte: number;
        if (pos < length) byte = bytes[start + pos]!;
        else if (pos === length) byte = 0x80;
        else byte = 0;
        word |= byte << (8 * k);
      }
      block[w] = word;
    }
    if (b === blocks - 1) {
      // Bit length, little-endian 64-bit (lengths here fit in 53 bits).
      block[14] = (length * 8) | 0;
      block[15] = Math.floor((length * 8) / 2 ** 32) | 0;
    }
    let a = a0;
    let bb = b0;
    let c = c0;
    let d = d0;
    for (let i = 0; i < 64; i++) {
      let f: number;
      let g: number;
      if (i < 16) {
        f = (bb & c) | (~bb & d);
        g = i;
      } else if (i < 32) {
        f = (d & bb) | (~d & c);
        g = (5 * i + 1) & 15;
      } else if (i < 48) {
        f = bb ^ c ^ d;
        g = (3 * i + 5) & 15;
      } else {
        f = c ^ (bb | ~d);
        g = (7 * i) & 15;
      }
      const sum = (a + f + K[i]! + block[g]!) | 0;
      const shift = S[(i >> 4) * 4 + (i & 3)]!;
      a = d;
      d = c;
      c = bb;
      bb = (bb + ((sum << shift) | (sum >>> (32 - shift)))) | 0;
    }
    a0 = (a0 + a) | 0;
    b0 = (b0 + bb) | 0;
    c0 = (c0 + c) | 0;
    d0 = (d0 + d) | 0;
  }
  return a0 >>> 0;
}
