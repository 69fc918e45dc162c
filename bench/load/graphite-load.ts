// Several graphite-sender.ts processes driven together: built once, then each `send(port)` has every sender send
// its share to `port` at once and resolves with the lines sent when all are done.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { GraphiteSenderOptions } from './graphite-sender.ts';

const SENDER = fileURLToPath(new URL('./graphite-sender.ts', import.meta.url));
const READY_TIMEOUT_MS = 60_000;
const SEND_TIMEOUT_MS = 180_000;

export interface GraphiteLoadOptions {
  processes: number;
  connectionsPerProcess: number;
  /** Lines over all processes per send. */
  lines: number;
  series: number;
}

export class GraphiteLoad {
  private readonly children: ChildProcess[];
  private readonly outputs: Interface[];
  readonly linesPerSend: number;

  private constructor(children: ChildProcess[], outputs: Interface[], linesPerSend: number) {
    this.children = children;
    this.outputs = outputs;
    this.linesPerSend = linesPerSend;
  }

  static async start(options: GraphiteLoadOptions): Promise<GraphiteLoad> {
    const share = Math.ceil(options.lines / options.processes);
    const children: ChildProcess[] = [];
    const outputs: Interface[] = [];
    for (let p = 0; p < options.processes; p++) {
      const senderOptions: GraphiteSenderOptions = {
        lines: share,
        series: options.series,
        connections: options.connectionsPerProcess,
        seed: p * 104_729,
      };
      const child = spawn(process.execPath, [SENDER, JSON.stringify(senderOptions)], {
        stdio: ['pipe', 'pipe', 'inherit'],
      });
      children.push(child);
      outputs.push(createInterface({ input: child.stdout! }));
    }
    const load = new GraphiteLoad(children, outputs, share * options.processes);
    await Promise.all(outputs.map((o) => load.nextLine(o, 'ready', READY_TIMEOUT_MS)));
    return load;
  }

  /** Every sender sends its share to `port`; resolves with the lines sent once all have finished. */
  async send(port: number): Promise<number> {
    for (const child of this.children) child.stdin!.write(`go ${port}\n`);
    await Promise.all(this.outputs.map((o) => this.nextLine(o, 'sent', SEND_TIMEOUT_MS)));
    return this.linesPerSend;
  }

  stop(): void {
    for (const child of this.children) child.kill('SIGKILL');
  }

  private nextLine(output: Interface, prefix: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`load sender: no "${prefix}" in ${timeoutMs} ms`)), timeoutMs);
      const onLine = (line: string): void => {
        if (!line.startsWith(prefix)) return;
        clearTimeout(timer);
        output.off('line', onLine);
        resolve();
      };
      output.on('line', onLine);
    });
  }
}
