/**
 * Late points over TCP into a running single node: points 30 s, 10 min and 2 h old, in two rounds (into empty
 * windows, then merged into what was stored), read back through /render at every resolution and compared with the
 * oracle for every (key, resolution, window), on the memory and whisper stores, and on whisper again while busy
 * loops compete for the CPU. Points older than aggregator.max_lateness are refused, counted as too_old.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startBusyLoops } from '../support/contention.js';
import { freePort } from '../support/ports.js';
import { waitFor } from '../support/wait.js';
import { getText, metricValue, sendTcp, startProgram, type RunningProgram } from '../e2e/programs.js';
import { entries, LATE_TIMES, readBackUntilExact, sendLateRounds } from './late-points.js';

const PROGRAM = 'services/allinone/dist/main.js';

describe('late points amend their windows at every resolution', () => {
  const running: RunningProgram[] = [];
  const dirs: string[] = [];

  afterAll(async () => {
    for (const program of running) await program.stop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  async function node(settings: string[]): Promise<{ http: number; graphite: number }> {
    const [http, graphite] = [await freePort(), await freePort()];
    const dir = mkdtempSync(join(tmpdir(), 'carillon-late-'));
    dirs.push(dir);
    const args = [
      `whisper.data_dir=${dir}`,
      `wal.dir=${join(dir, 'wal')}`,
      `http.listen=127.0.0.1:${http}`,
      `graphite.tcp_listen=127.0.0.1:${graphite}`,
      'graphite.udp_listen=',
      'statsd.udp_listen=',
      'statsd.tcp_listen=',
      'pickle.tcp_listen=',
      `times=${LATE_TIMES}`,
      'aggregator.grace=1s',
      'log_level=info',
      ...settings,
    ].flatMap((s) => ['--set', s]);
    running.push(await startProgram(PROGRAM, args, 'carillon started'));
    return { http, graphite };
  }

  for (const store of ['memory', 'whisper'] as const)
    it(`reads back exactly on the ${store} store`, { timeout: 120_000 }, async () => {
      const { http, graphite } = await node([`store=${store}`]);
      const traffic = await sendLateRounds(graphite, http);
      const { expected, actual } = await readBackUntilExact(http, traffic);
      expect(entries(actual)).toEqual(entries(expected));
      // 5 keys × 3 ages × 3 resolutions of amended windows, and the on-time ones.
      expect(expected.size).toBeGreaterThan(45);
    });

  it('reads back exactly on whisper under CPU contention', { timeout: 150_000 }, async () => {
    const busy = startBusyLoops(2, 90_000);
    try {
      const { http, graphite } = await node(['store=whisper']);
      const traffic = await sendLateRounds(graphite, http);
      const { expected, actual } = await readBackUntilExact(http, traffic, 45_000);
      expect(entries(actual)).toEqual(entries(expected));
    } finally {
      busy.stop();
    }
  });

  it('refuses points older than aggregator.max_lateness, counted as too_old', { timeout: 60_000 }, async () => {
    const { http, graphite } = await node(['store=memory', 'aggregator.max_lateness=1h']);
    const now = Math.floor(Date.now() / 1000);
    const lines = [`x.old 1 ${now - 3700}`, `x.old 2 ${now - 7200}`, `x.young 3 ${now - 3500}`, `x.now 4 ${now}`];
    await sendTcp(graphite, lines.map((l) => `${l}\n`).join(''));
    const value = async (name: string, labels?: string): Promise<number> => {
      const text = await getText(`http://127.0.0.1:${http}/metrics`);
      return metricValue(text, labels === undefined ? name : `${name}{${labels}}`);
    };
    await waitFor('the points counted', async () => (await value('carillon_aggregator_amended_points_total')) === 1);
    expect(await value('carillon_aggregator_points_refused_total', 'reason="too_old"')).toBe(2);
  });
});
