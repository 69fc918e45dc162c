/**
 * carillon's /functions against graphite-web 1.1.8's function registry (graphite.functions: its /functions view
 * itself fails on Python 3.11): every function carillon offers exists there with the same group and the same
 * params (name, type, required, default, multiple, options, suggestions), so Grafana's editor offers the same.
 */
import { describe, expect, it } from 'vitest';
import { useServers } from './servers.js';

const servers = useServers();

interface Described {
  name: string;
  group: string;
  params: Record<string, unknown>[];
}

describe('/functions: carillon against graphite-web 1.1.8', () => {
  it('describes every implemented function as graphite-web registers it', async () => {
    const { graphiteWeb, carillon } = servers();
    const reference = await graphiteWeb.functions();
    const answer = await carillon.get('/functions');
    expect(answer.status).toBe(200);
    const ours = JSON.parse(answer.body.toString()) as Record<string, Described>;
    expect(Object.keys(ours).length).toBeGreaterThan(70);
    const differences: string[] = [];
    for (const [name, fn] of Object.entries(ours)) {
      const theirs = reference[name];
      if (!theirs) {
        differences.push(`${name}: not a graphite-web function`);
        continue;
      }
      if (fn.group !== theirs.group) differences.push(`${name}: group ${fn.group}, graphite-web ${theirs.group}`);
      // a groupBy callback lists only the aggregating functions carillon has: a subset of graphite-web's
      const params = fn.params.map((p, i) => {
        const their = (theirs.params[i] ?? {}) as { options?: unknown[] };
        if (p.type !== 'aggOrSeriesFunc' || !Array.isArray(p.options) || !their.options) return p;
        const missing = (p.options as unknown[]).filter((o) => !their.options!.includes(o));
        return missing.length === 0 ? { ...p, options: their.options } : p;
      });
      if (JSON.stringify(params) !== JSON.stringify(theirs.params))
        differences.push(
          `${name}: params ${JSON.stringify(fn.params)}\n  graphite-web ${JSON.stringify(theirs.params)}`,
        );
    }
    expect(differences).toEqual([]);
  });

  it('answers one function by name', async () => {
    const answer = await servers().carillon.get('/functions/sumSeries');
    expect(JSON.parse(answer.body.toString())).toMatchObject({ name: 'sumSeries', group: 'Combine' });
  });
});
