/**
 * Known Graphite traffic for the crash tests: every second one point per key, stamped with that second (so no two
 * points of a key share a timestamp, whatever the order they arrive in), each key always through the same relay
 * (ordered per key). A relay's keys can be paused while it is down. The oracle holds every point sent.
 */
import { sleep } from '../support/wait.js';
import { Oracle } from './cluster.js';

/** Where a route's lines go: a LineSender (TCP), or anything else that sends text and says when it is sent. */
export interface TextSender {
  send(text: string): Promise<void>;
}

export interface TrafficRoute {
  sender: () => TextSender | undefined;
  keys: string[];
}

export class SecondlyTraffic {
  readonly oracle = new Oracle();
  /** Lines whose TCP write completed, per route index. */
  readonly sent: number[] = [];
  lastSecond = 0;
  private stopped = false;
  private readonly paused = new Set<number>();
  private round = 0;
  private inRound: Promise<unknown> = Promise.resolve();

  constructor(private readonly routes: TrafficRoute[]) {
    this.sent = routes.map(() => 0);
  }

  /** Stops sending through route `index`; resolves once the round in progress is sent (resume() starts it again). */
  async pause(index: number): Promise<void> {
    this.paused.add(index);
    await this.inRound;
  }

  resume(index: number): void {
    this.paused.delete(index);
  }

  /** Sends a round every second from the next second on, until stop() or `maxRounds`. */
  async run(maxRounds: number): Promise<void> {
    const first = Math.floor(Date.now() / 1000) + 1;
    for (; !this.stopped && this.round < maxRounds; this.round++) {
      const second = first + this.round;
      await sleep(Math.max(0, second * 1000 + 100 - Date.now()));
      if (this.stopped) break;
      this.inRound = Promise.all(
        this.routes.map(async (route, index) => {
          const sender = route.sender();
          if (this.paused.has(index) || sender === undefined) return;
          const lines = route.keys.map((key, k) => {
            // Integers: sums exact in any order; min, max, first and last all differ.
            const value = ((this.round * 31 + k * 17) % 201) - 100;
            return { key, value };
          });
          await sender.send(lines.map(({ key, value }) => `${key} ${value} ${second}\n`).join(''));
          for (const { key, value } of lines) this.oracle.add(key, second, value);
          this.sent[index]! += lines.length;
        }),
      );
      await this.inRound;
      this.lastSecond = second;
    }
  }

  stop(): void {
    this.stopped = true;
  }
}
