/**
 * Liveness apart from readiness. Live: the process can do its work (the event loop turns, worker threads run);
 * a failing liveness probe restarts the pod. Ready: it should be sent work (listeners bound, membership joined,
 * writers storing, state directory writable); a failing readiness probe only takes it out of service. Each check
 * answers undefined when fine, else the reason, and the HTTP answer carries every reason.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ServerResponse } from 'node:http';
import { sendJson } from './http.js';

/** Undefined when fine, else why not. */
export type HealthCheck = () => string | undefined;

/** The event loop is taken as stuck when a 500 ms timer fires this late. */
const EVENT_LOOP_STALL_MS = 5_000;
const LOOP_PROBE_MS = 500;

export class Health {
  private readonly live = new Map<string, HealthCheck>();
  private readonly ready = new Map<string, HealthCheck>();
  private readonly timers: NodeJS.Timeout[] = [];
  private worstLagMs = 0;
  private lastProbe = Date.now();

  constructor() {
    // A loop blocked for seconds (a runaway request, a huge parse) is seen late, but it is seen and reported.
    const timer = setInterval(() => {
      const now = Date.now();
      this.worstLagMs = Math.max(0, now - this.lastProbe - LOOP_PROBE_MS);
      this.lastProbe = now;
    }, LOOP_PROBE_MS);
    timer.unref();
    this.timers.push(timer);
    this.addLiveness('event_loop', () =>
      this.worstLagMs > EVENT_LOOP_STALL_MS ? `event loop stalled ${this.worstLagMs} ms` : undefined,
    );
  }

  addLiveness(name: string, check: HealthCheck): this {
    this.live.set(name, check);
    return this;
  }

  addReadiness(name: string, check: HealthCheck): this {
    this.ready.set(name, check);
    return this;
  }

  /** Every liveness check; a check that throws is a failure with its message. */
  liveness(): HealthReport {
    return report(this.live);
  }

  /** Liveness first (a dead process is not ready), then every readiness check. */
  readiness(): HealthReport {
    return report(new Map([...this.live, ...this.ready]));
  }

  /** Probes `dir` for writes every `intervalMs` (a file written and removed); a readiness check named `name`. */
  addWritableDirectory(name: string, dir: string, intervalMs = 5_000): this {
    const probe = new DirectoryProbe(dir);
    void probe.run();
    const timer = setInterval(() => void probe.run(), intervalMs);
    timer.unref();
    this.timers.push(timer);
    return this.addReadiness(name, () => probe.problem);
  }

  close(): void {
    for (const timer of this.timers) clearInterval(timer);
  }
}

export interface HealthReport {
  status: 'ok' | 'failing';
  /** Check name → reason, for the checks that failed. */
  reasons: Record<string, string>;
}

function report(checks: Map<string, HealthCheck>): HealthReport {
  const reasons: Record<string, string> = {};
  for (const [name, check] of checks) {
    let problem: string | undefined;
    try {
      problem = check();
    } catch (error) {
      problem = (error as Error).message;
    }
    if (problem !== undefined) reasons[name] = problem;
  }
  return { status: Object.keys(reasons).length === 0 ? 'ok' : 'failing', reasons };
}

/** Answers a health report: 200 when ok, 503 with the reasons otherwise; `details` are added to the body. */
export function sendHealth(res: ServerResponse, health: HealthReport, details: Record<string, unknown> = {}): void {
  sendJson(res, health.status === 'ok' ? 200 : 503, { ...health, ...details });
}

/** Whether a directory takes writes now: a small file written and removed (a full disk, EACCES, a lost mount). */
class DirectoryProbe {
  problem: string | undefined = 'not probed yet';
  private running = false;

  constructor(private readonly dir: string) {}

  async run(): Promise<void> {
    if (this.running) return;
    this.running = true;
    const file = join(this.dir, `.carillon-probe-${process.pid}`);
    try {
      await mkdir(this.dir, { recursive: true });
      await writeFile(file, 'probe');
      await rm(file, { force: true });
      this.problem = undefined;
    } catch (error) {
      this.problem = `${this.dir} is not writable: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`;
    } finally {
      this.running = false;
    }
  }
}
