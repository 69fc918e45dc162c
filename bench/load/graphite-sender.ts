// A Graphite plaintext load sender, run as its own process by graphite-load.ts so the load generator's CPU is
// not the measured program's, nor the bench process's. It builds its lines once (pre-built buffers), says
// "ready", then for every "go <port>" on stdin stamps the current second into every line, sends its share over
// its connections (respecting backpressure) and answers "sent <lines>". Arguments: one JSON object
// (GraphiteSenderOptions). Bounded: `lines` per go.
import { createConnection } from 'node:net';
import { createInterface } from 'node:readline';

export interface GraphiteSenderOptions {
  /** Lines this sender sends per go. */
  lines: number;
  /** Distinct series the lines cycle over. */
  series: number;
  connections: number;
  /** Offsets this sender's series numbers, so several senders can share or split a name space. */
  seed: number;
}

const LINES_PER_CHUNK = 1000;
const METRICS = ['cpu.user', 'cpu.system', 'cpu.idle', 'memory.used', 'disk.sda.reads', 'net.eth0.rx_bytes'];

/** Digits of a Graphite timestamp: epoch seconds have 10 until the year 2286. */
const TIMESTAMP_DIGITS = 10;

/** Pre-built lines, and where each line's timestamp lies, so each send can stamp them anew. */
interface Chunk {
  bytes: Buffer;
  timestampAt: Uint32Array;
}

/**
 * `count` lines over `series` realistic names: host, metric and instance, and values. Their timestamps are
 * written at each send (stampChunks): pre-built ones would be late by the later rounds, and a node would then
 * be measured merging late points into closed windows instead of taking live ones (bench/amend measures that).
 */
function buildChunks(options: GraphiteSenderOptions): Chunk[] {
  const placeholder = '0'.repeat(TIMESTAMP_DIGITS);
  const chunks: Chunk[] = [];
  for (let first = 0; first < options.lines; first += LINES_PER_CHUNK) {
    const lines: string[] = [];
    const timestampAt: number[] = [];
    let at = 0;
    for (let n = first; n < Math.min(options.lines, first + LINES_PER_CHUNK); n++) {
      const s = (n * 7919 + options.seed) % options.series;
      const metric = METRICS[s % METRICS.length]!; // an index below the length
      const host = Math.floor(s / METRICS.length);
      const head = `prod.servers.web-${host % 5000}.${metric}.i${Math.floor(host / 5000)} ${(n % 1000) * 0.37} `;
      timestampAt.push(at + head.length); // the names and values are ASCII: a character is a byte
      lines.push(head + placeholder);
      at += head.length + TIMESTAMP_DIGITS + 1;
    }
    chunks.push({ bytes: Buffer.from(lines.join('\n') + '\n'), timestampAt: Uint32Array.from(timestampAt) });
  }
  return chunks;
}

/** Writes `seconds` as every line's timestamp. */
function stampChunks(chunks: Chunk[], seconds: number): void {
  const digits = Buffer.from(String(seconds).padStart(TIMESTAMP_DIGITS, '0'));
  for (const { bytes, timestampAt } of chunks) for (const at of timestampAt) digits.copy(bytes, at);
}

async function send(port: number, chunks: Chunk[], connections: number): Promise<void> {
  const one = (c: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const socket = createConnection(port, '127.0.0.1');
      socket.once('error', reject);
      socket.once('connect', async () => {
        for (let i = c; i < chunks.length; i += connections)
          if (!socket.write(chunks[i]!.bytes)) await new Promise((r) => socket.once('drain', r));
        socket.end(() => resolve());
      });
    });
  await Promise.all(Array.from({ length: connections }, (_, c) => one(c)));
}

const options = JSON.parse(process.argv[2] ?? '{}') as GraphiteSenderOptions;
const chunks = buildChunks(options);
process.stdout.write('ready\n');
for await (const line of createInterface({ input: process.stdin })) {
  const [command, port] = line.split(' ');
  if (command !== 'go') continue;
  stampChunks(chunks, Math.floor(Date.now() / 1000));
  await send(Number(port), chunks, options.connections);
  process.stdout.write(`sent ${options.lines}\n`);
}
