/**
 * Every line a relay forwards is accounted for on the relay too: points an accumulator refuses (here: older than
 * aggregator.max_lateness, the finest retention of 1 h, and ahead of max_future) come back in its acks, and the
 * relay counts them by reason and destination, equal to what the accumulators counted. Late points younger than
 * that are amended by their owners, not refused.
 */
import { describe, expect, it } from 'vitest';
import { nowSeconds } from '@carillon/core';
import { sleep, waitFor } from '../support/wait.js';
import { LineSender, metricValue, startStaticCluster } from './cluster.js';
import { useClusterWorkspace } from './workspace.js';

describe('refusals travel back in the acks', () => {
  const { root, running } = useClusterWorkspace('refusals');

  it('counts on the relay, by reason and destination, what the accumulators refused', async () => {
    const { accumulators, relay } = await startStaticCluster(root, ['ref-a', 'ref-b'], running);
    await sleep(500);
    const now = nowSeconds();
    const lines: string[] = [];
    for (let i = 0; i < 60; i++) lines.push(`ok.m${i} ${i} ${now}`);
    for (let i = 0; i < 40; i++) lines.push(`old.m${i} ${i} ${now - 7200}`);
    for (let i = 0; i < 30; i++) lines.push(`late.m${i} ${i} ${now - 600}`);
    for (let i = 0; i < 25; i++) lines.push(`ahead.m${i} ${i} ${now + 3600}`);
    const sender = await LineSender.open(relay.graphitePort);
    await sender.send(lines.map((l) => `${l}\n`).join(''));
    await sender.close();

    const onRelay = (reason: string): Promise<number> =>
      metricValue(relay.httpPort, 'relay_points_refused_total', `reason="${reason}"`);
    await waitFor(
      'the relay counted every refusal',
      async () => (await onRelay('too_old')) + (await onRelay('future')) === 65,
    );
    expect(await onRelay('too_old')).toBe(40);
    expect(await onRelay('future')).toBe(25);
    expect(await onRelay('late')).toBe(0);
    // The same totals as the accumulators' own counters, and split by destination as they were.
    let tooOld = 0;
    let future = 0;
    let amended = 0;
    for (const a of accumulators) {
      const tooOldHere = await metricValue(a.httpPort, 'aggregator_points_refused_total', 'reason="too_old"');
      tooOld += tooOldHere;
      future += await metricValue(a.httpPort, 'aggregator_future_points_total');
      amended += await metricValue(a.httpPort, 'aggregator_amended_points_total');
      expect(
        await metricValue(relay.httpPort, 'relay_points_refused_total', `reason="too_old",destination="${a.id}"`),
        a.id,
      ).toBe(tooOldHere);
    }
    expect([tooOld, future, amended]).toEqual([40, 25, 30]);
    // Acks mean stored: the batches holding the amended points are acked durable once the amends are written.
    await waitFor(
      'every batch acked durable',
      async () => (await metricValue(relay.httpPort, 'relay_link_queued_batches')) === 0,
      20_000,
    );
  });
});
