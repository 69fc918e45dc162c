/**
 * `:PORT` listens as carbon's does, on IPv4 and IPv6 at once: Graphite lines over TCP and UDP, StatsD over UDP and
 * a pickle frame, each sent once to `::1` and once to `127.0.0.1`, all arrive (counted accepted, values back).
 */
import { createSocket } from 'node:dgram';
import { createConnection } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pickleFrame } from '../support/pickle-frames.js';
import { freePort } from '../support/ports.js';
import { useTempDir } from '../support/temp-dir.js';
import { waitFor } from '../support/wait.js';
import { getJson, getText, startProgram, type RunningProgram } from './programs.js';

const PROGRAM = 'services/allinone/dist/main.js';
const HOSTS = ['::1', '127.0.0.1'] as const;

function sendTcp(host: string, port: number, bytes: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host, port }, () => socket.end(bytes));
    socket.setTimeout(5000, () => socket.destroy(new Error(`TCP send to ${host} timed out`)));
    socket.once('close', (hadError) => (hadError ? undefined : resolve()));
    socket.once('error', reject);
  });
}

function sendUdp(host: string, port: number, text: string): Promise<void> {
  const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  return new Promise((resolve, reject) =>
    socket.send(text, port, host, (error) => {
      socket.close();
      if (error) reject(error);
      else resolve();
    }),
  );
}

const metric = (text: string, line: string): number => {
  const found = text.split('\n').find((l) => l.startsWith(line));
  return found === undefined ? 0 : Number(found.slice(found.lastIndexOf(' ') + 1));
};

describe(':PORT listens on IPv4 and IPv6', () => {
  const dataDir = useTempDir('ipv6', 'all');
  let http: number;
  let ports: { graphite: number; statsd: number; pickle: number };
  let program: RunningProgram;

  beforeAll(async () => {
    http = await freePort();
    ports = { graphite: await freePort(), statsd: await freePort(), pickle: await freePort() };
    const set = (pairs: string[]): string[] => pairs.flatMap((pair) => ['--set', pair]);
    program = await startProgram(
      PROGRAM,
      set([
        `whisper.data_dir=${dataDir()}`,
        `http.listen=127.0.0.1:${http}`,
        `graphite.tcp_listen=:${ports.graphite}`,
        `graphite.udp_listen=:${ports.graphite}`,
        `statsd.udp_listen=:${ports.statsd}`,
        'statsd.tcp_listen=',
        `pickle.tcp_listen=:${ports.pickle}`,
        'times=10s:1h',
      ]),
      'carillon started',
    );
  });

  afterAll(async () => {
    await program?.stop();
  });

  it('takes every protocol from ::1 and 127.0.0.1', async () => {
    const window = Math.floor(Date.now() / 10_000) * 10;
    for (const [i, host] of HOSTS.entries()) {
      const family = i === 0 ? 'v6' : 'v4';
      await sendTcp(host, ports.graphite, Buffer.from(`ip.${family}.tcp ${i + 1} ${window}\n`));
      await sendUdp(host, ports.graphite, `ip.${family}.udp ${i + 2} ${window}\n`);
      await sendUdp(host, ports.statsd, `ip.${family}.statsd:${i + 3}|g\n`);
      await sendTcp(
        host,
        ports.pickle,
        pickleFrame([{ path: `ip.${family}.pickle`, timestamp: window, value: i + 4 }]),
      );
    }
    const url = `http://127.0.0.1:${http}`;
    await waitFor('six Graphite points and two StatsD lines accepted', async () => {
      const text = await getText(`${url}/metrics`);
      return (
        metric(text, 'carillon_lines_accepted_total{protocol="graphite"}') === 6 &&
        metric(text, 'carillon_lines_accepted_total{protocol="statsd"}') === 2
      );
    });
    const render = (await getJson(
      `${url}/render?target=ip.*.{tcp,udp,pickle}&from=${window - 1}&until=${window + 9}&format=json`,
    )) as { target: string; datapoints: [number | null, number][] }[];
    const values = Object.fromEntries(render.map((s) => [s.target, s.datapoints.find(([v]) => v !== null)?.[0]]));
    expect(values).toEqual({
      'ip.v6.tcp': 1,
      'ip.v6.udp': 2,
      'ip.v6.pickle': 4,
      'ip.v4.tcp': 2,
      'ip.v4.udp': 3,
      'ip.v4.pickle': 5,
    });
  });
});
