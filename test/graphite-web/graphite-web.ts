/**
 * graphite-web 1.1.8 (Debian's package) as the reference the differential tests compare carillon against: one
 * Python process runs it in-process through Django's test client (graphite_web.py), so there is no port to race
 * for and nothing to wait for but its "ready" line. Installs the package when it is missing and this is a Debian
 * machine where we are root; otherwise fails saying how to get it. Never skipped.
 */
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** Debian's python: graphite-web's modules live in its dist-packages, not in a pyenv or venv python. */
export const PYTHON = '/usr/bin/python3';
const HELPER = fileURLToPath(new URL('./graphite_web.py', import.meta.url));
const GRAPHITE_WEB = '/usr/lib/python3/dist-packages/graphite/render/views.py';

function installed(): boolean {
  if (!existsSync(PYTHON) || !existsSync(GRAPHITE_WEB)) return false;
  try {
    execFileSync(PYTHON, ['-c', 'import django, whisper, pyparsing'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Installs graphite-web from Debian when missing (as test/servers/prepare.sh does); throws how-to otherwise. */
export function ensureGraphiteWeb(): void {
  if (installed()) return;
  const isRoot = process.getuid?.() === 0;
  if (isRoot && existsSync('/usr/bin/apt-get')) {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    try {
      execFileSync('apt-get', ['install', '-y', '-qq', 'graphite-web', 'python3-whisper'], { env, stdio: 'ignore' });
    } catch {
      execFileSync('apt-get', ['update', '-qq'], { env, stdio: 'ignore' });
      execFileSync('apt-get', ['install', '-y', '-qq', 'graphite-web', 'python3-whisper'], { env, stdio: 'ignore' });
    }
  }
  if (!installed())
    throw new Error(
      'graphite-web 1.1.8 is needed as the reference for this test and is not installed: run ' +
        '`apt-get install -y graphite-web python3-whisper` as root (or `bash test/servers/prepare.sh`)',
    );
}

/** Writes the shared whisper files (gauges with gaps, negatives, counters with resets, tagged series). */
export function writeFixture(whisperDir: string, now: number): void {
  execFileSync(PYTHON, [HELPER, 'fixture', whisperDir, String(now)], { stdio: ['ignore', 'ignore', 'inherit'] });
}

export interface ReferenceAnswer {
  status: number;
  type: string;
  body: Buffer;
}

export interface GraphiteWebOptions {
  /** graphite-web's CLUSTER_SERVERS (`host:port`), to read through it from those servers. */
  clusterServers?: readonly string[];
  /**
   * Also serve HTTP on 127.0.0.1 there (for carillon's tagMultiSeries posts); the fixture's tagged series are then
   * not put in the tag database beforehand.
   */
  httpPort?: number;
  /** A remote tag database (graphite-web's HttpTagDB, TAGDB_HTTP_URL) instead of its local one. */
  tagdbUrl?: string;
}

export class GraphiteWeb {
  private readonly waiting: ((line: string) => void)[] = [];
  private readonly lines: Interface;
  private stderr = '';

  private readonly child: ChildProcessWithoutNullStreams;

  // no parameter property: the render bench imports this file under Node's type stripping
  private constructor(child: ChildProcessWithoutNullStreams) {
    this.child = child;
    this.lines = createInterface({ input: child.stdout });
    this.lines.on('line', (line) => this.waiting.shift()?.(line));
    child.stderr.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-4000);
    });
  }

  /** How graphite-web is started beyond its directories. */
  static async start(whisperDir: string, storageDir: string, options: GraphiteWebOptions = {}): Promise<GraphiteWeb> {
    ensureGraphiteWeb();
    const args = [HELPER, 'serve', whisperDir, storageDir, (options.clusterServers ?? []).join(',')];
    args.push(options.httpPort === undefined ? '' : String(options.httpPort), options.tagdbUrl ?? '');
    const child = spawn(PYTHON, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const server = new GraphiteWeb(child);
    const ready = await Promise.race([
      server.nextLine(),
      new Promise<string>((resolve) => child.once('exit', () => resolve(''))),
      new Promise<string>((resolve) => setTimeout(() => resolve(''), 60_000)),
    ]);
    if (!ready.includes('"ready"')) {
      child.kill();
      throw new Error(`graphite-web did not start:\n${server.stderr}`);
    }
    return server;
  }

  private nextLine(): Promise<string> {
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private async ask(request: object): Promise<ReferenceAnswer> {
    const line = this.nextLine();
    this.child.stdin.write(`${JSON.stringify(request)}\n`);
    const answer = JSON.parse(await line) as { status: number; type: string; body: string };
    return { status: answer.status, type: answer.type, body: Buffer.from(answer.body, 'base64') };
  }

  /** The Python process (for its CPU time). */
  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** GET `path` (with its query string) from graphite-web. */
  get(path: string): Promise<ReferenceAnswer> {
    return this.ask({ path });
  }

  /** What Python's pickle (or graphite-web's msgpack) reads from `body`, ints and floats told apart. */
  async decode(kind: 'pickle' | 'msgpack', body: Buffer): Promise<unknown> {
    const answer = await this.ask({ decode: kind, body: body.toString('base64') });
    if (answer.status !== 200) throw new Error(`Python could not read the ${kind}: ${answer.body.toString()}`);
    return JSON.parse(answer.body.toString('utf8')) as unknown;
  }

  /** graphite.functions' registry: name, group and params (graphite-web's `/functions` view itself fails). */
  async functions(): Promise<Record<string, { name: string; group: string; params: unknown[] }>> {
    const answer = await this.ask({ functions: true });
    return JSON.parse(answer.body.toString('utf8')) as Record<
      string,
      { name: string; group: string; params: unknown[] }
    >;
  }

  async stop(): Promise<void> {
    this.child.stdin.end();
    await new Promise<void>((resolve) => {
      if (this.child.exitCode !== null) resolve();
      else this.child.once('exit', () => resolve());
    });
  }
}
