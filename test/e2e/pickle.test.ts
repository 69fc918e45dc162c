/**
 * carbon's pickle receiver on the single node: frames as carbon-relay sends them become Graphite points (exact
 * values back through /render, before the flush), and a frame carrying code (GLOBAL/REDUCE) is refused whole and
 * counted, while the frames around it on the same connection are taken.
 */
import { createConnection } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/ports.js';
import { pickleFrame } from '../support/pickle-frames.js';
import { waitFor } from '../support/wait.js';
import { getJson, getText, startProgram, type RunningProgram } from './programs.js';

const PROGRAM = 'services/allinone/dist/main.js';

function sendBytes(port: number, bytes: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => socket.end(bytes));
    socket.setTimeout(5000, () => socket.destroy(new Error('TCP send timed out')));
    socket.once('close', (hadError) => (hadError ? undefined : resolve()));
    socket.once('error', reject);
  });
}

const metric = (text: string, line: string): number => {
  const found = text.split('\n').find((l) => l.startsWith(line));
  return found === undefined ? 0 : Number(found.slice(found.lastIndexOf(' ') + 1));
};

describe('pickle receiver', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'carillon-pickle-'));
  let ports: { http: number; pickle: number };
  let program: RunningProgram;

  beforeAll(async () => {
    ports = { http: await freePort(), pickle: await freePort() };
    const set = (pairs: string[]): string[] => pairs.flatMap((pair) => ['--set', pair]);
    program = await startProgram(
      PROGRAM,
      set([
        `whisper.data_dir=${dataDir}`,
        `http.listen=127.0.0.1:${ports.http}`,
        `pickle.tcp_listen=127.0.0.1:${ports.pickle}`,
        'graphite.tcp_listen=',
        'graphite.udp_listen=',
        'statsd.tcp_listen=',
        'statsd.udp_listen=',
        // pickled points framed, named and read ahead on listener threads, as on a machine of many cores
        'listeners.threads=2',
        'times=10s:1h,1m:1d',
        'log_level=info',
      ]),
      'carillon started',
    );
  });

  afterAll(async () => {
    await program?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('takes the points of good frames and refuses a frame that carries code, counted', async () => {
    const now = Math.floor(Date.now() / 1000);
    const window = Math.floor(now / 10) * 10;
    const first = pickleFrame([
      { path: 'pk.web1.cpu', timestamp: window, value: 1.5 },
      { path: 'pk.web1.cpu', timestamp: window + 1, value: 2.5 },
      { path: 'pk.web2.cpu', timestamp: window, value: -4 },
    ]);
    const evil = Buffer.from("cos\nsystem\n(S'touch /tmp/pwned'\ntR.", 'latin1');
    const evilFrame = Buffer.concat([Buffer.from([0, 0, 0, evil.length]), evil]);
    const last = pickleFrame([{ path: 'pk.web2.cpu', timestamp: window + 2, value: 8 }]);
    await sendBytes(ports.pickle, Buffer.concat([first, evilFrame, last]));

    const url = `http://127.0.0.1:${ports.http}`;
    await waitFor('the four points accepted', async () => {
      return metric(await getText(`${url}/metrics`), 'carillon_lines_accepted_total{protocol="graphite"}') === 4;
    });
    const text = await getText(`${url}/metrics`);
    expect(metric(text, 'carillon_lines_rejected_total{protocol="pickle",reason="invalid_pickle"}')).toBe(1);
    expect(metric(text, 'carillon_pickle_frames_rejected_total{reason="unsafe_opcode"}')).toBe(1);
    const series = await getJson<{ target: string; datapoints: [number | null, number][] }[]>(
      `${url}/render?format=json&target=pk.*.cpu&from=${window - 10}&until=${window + 10}`,
    );
    const valueAt = (target: string): (number | null)[] =>
      series
        .find((s) => s.target === target)!
        .datapoints.filter(([, t]) => t === window)
        .map(([v]) => v);
    expect(valueAt('pk.web1.cpu')).toEqual([2]); // average of 1.5 and 2.5
    expect(valueAt('pk.web2.cpu')).toEqual([2]); // average of -4 and 8
  });
});
