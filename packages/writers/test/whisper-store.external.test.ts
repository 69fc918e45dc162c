import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeBatch, MetricsRegistry, nowSeconds, parseAggregationRules, windowStart } from '@carillon/core';
import { WhisperStore } from '@carillon/writers';
import { coarse, expectedBy, fine, mid, resolutions, stat4 } from './whisper-fixtures.js';
import { pythonFetch, pythonWhisper, whisperFetch, whisperInfo } from './whisper-tools.js';
import { useTempDir } from '../../../test/support/temp-dir.js';

const SERIES = [
  { name: 'servers.web1.cpu.user', file: 'servers/web1/cpu/user.wsp', method: 'average', xff: 0.5 },
  { name: 'stats_counts.api.hits', file: 'stats_counts/api/hits.wsp', method: 'sum', xff: 0 },
  { name: 'app.latency.max', file: 'app/latency/max.wsp', method: 'max', xff: 0.1 },
  { name: 'app.latency.lower_90', file: 'app/latency/lower_90.wsp', method: 'min', xff: 0.1 },
  { name: 'stats.gauges.queue', file: 'stats/gauges/queue.wsp', method: 'last', xff: 0 },
  // sha256('disk.used;dc=ams;host=web.1') starts 8cba57 (computed with python's hashlib).
  {
    name: 'disk.used;dc=ams;host=web.1',
    file: '_tagged/8cb/a57/disk_DOT_used;dc=ams;host=web_DOT_1.wsp',
    method: 'average',
    xff: 0.5,
  },
] as const;

const dataDir = useTempDir('whisper-store');

describe('WhisperStore', () => {
  it('writes every resolution so that whisper-info and whisper-fetch read exactly what was written', async () => {
    const metrics = new MetricsRegistry();
    const store = new WhisperStore({ dataDir: dataDir(), resolutions }, { metrics });
    const now = nowSeconds();
    // Windows per resolution, placed so whisper-fetch picks that archive from `now - from` on its own.
    const windows = {
      fine: [1, 2, 3, 5, 6].map((k) => windowStart(now, 10) - 10 * (7 - k)),
      mid: [1, 2, 4].map((k) => windowStart(now - 3 * 3600, 60) - 60 * (5 - k)),
      coarse: [1, 3].map((k) => windowStart(now - 3 * 86400, 600) - 600 * (4 - k)),
    };
    const plan = [
      { resolution: fine, times: windows.fine },
      { resolution: mid, times: windows.mid },
      { resolution: coarse, times: windows.coarse },
    ];
    let written = 0;
    for (const { resolution, times } of plan)
      for (const [k, time] of times.entries()) {
        await store.write(
          makeBatch(
            resolution,
            time,
            SERIES.map((s, i) => [s.name, stat4(time, resolution.index * 100 + k * 10 + i)]),
          ),
        );
        written += SERIES.length;
      }
    expect(metrics.value('whisper_points_written_total')).toBe(written);
    expect(metrics.value('whisper_files_created_total')).toBe(SERIES.length);
    expect(metrics.value('whisper_errors_total', 'write')).toBe(0);

    for (const [i, series] of SERIES.entries()) {
      const path = join(dataDir(), series.file);
      const info = whisperInfo(path);
      expect(info.aggregationMethod, series.name).toBe(series.method);
      expect(info.xFilesFactor).toBe(Math.fround(series.xff));
      expect(info.archives.map((a) => [a.secondsPerPoint, a.points])).toEqual([
        [10, 360],
        [60, 1440],
        [600, 4320],
      ]);
      expect((await stat(path)).size).toBe(info.fileSize);

      for (const { resolution, times } of plan) {
        const step = resolution.step;
        const first = times[0]!;
        const last = times[times.length - 1]!;
        const expected = new Array<number | null>((last - first) / step + 1).fill(null);
        times.forEach((time, k) => {
          expected[(time - first) / step] = expectedBy[series.method](resolution.index * 100 + k * 10 + i);
        });
        // whisper-fetch returns the intervals after `from` up to the one holding `until`.
        const tool = whisperFetch(path, first - step, last);
        expect({ start: tool.start, step: tool.step }, `${series.name} ${resolution.name}`).toEqual({
          start: first,
          step,
        });
        expect(tool.values, `${series.name} ${resolution.name}`).toEqual(expected);
        expect(await store.fetch(series.name, resolution, first, last + step)).toEqual(expected);
        expect(await store.fetchSeries(series.name, resolution, first - step + 1, last + 1)).toEqual({
          start: first,
          step,
          values: expected,
        });
      }
    }
    await store.close();
    expect(store.openFiles).toBe(0);

    // After a restart the store finds every series again, tagged ones decoded back to their canonical names.
    const restarted = new WhisperStore({ dataDir: dataDir(), resolutions });
    expect(await restarted.listSeries()).toEqual(SERIES.map((s) => s.name).sort());
    expect(await restarted.fetch(SERIES[5].name, fine, windows.fine[0]!, windows.fine[0]! + 10)).toEqual([
      expectedBy.average(5),
    ]);
    await restarted.close();
  });

  it('takes the aggregation method and xFilesFactor from configured rules', async () => {
    const aggregationRules = parseAggregationRules([{ pattern: '\\.p99$', method: 'max', xFilesFactor: 0.25 }]);
    const store = new WhisperStore({ dataDir: dataDir(), resolutions, aggregationRules });
    const time = windowStart(nowSeconds(), 10) - 10;
    await store.write(
      makeBatch(fine, time, [
        ['api.latency.p99', stat4(time, 1)],
        ['api.requests.count', stat4(time, 1)],
      ]),
    );
    await store.close();
    const p99 = whisperInfo(join(dataDir(), 'api/latency/p99.wsp'));
    expect([p99.aggregationMethod, p99.xFilesFactor]).toEqual(['max', 0.25]);
    // Configured rules replace the defaults: `.count` is no longer a sum.
    const count = whisperInfo(join(dataDir(), 'api/requests/count.wsp'));
    expect([count.aggregationMethod, count.xFilesFactor]).toEqual(['average', 0.5]);
  });

  it('reads and updates a file created by python whisper', async () => {
    const now = nowSeconds();
    const path = join(dataDir(), 'legacy', 'metric.wsp');
    await mkdir(join(dataDir(), 'legacy'));
    pythonWhisper({
      op: 'create',
      path,
      archives: [
        [10, 100],
        [60, 100],
      ],
      xFilesFactor: 0,
      aggregationMethod: 'max',
    });
    const t = windowStart(now, 10) - 50;
    pythonWhisper({
      op: 'update_many',
      path,
      points: [
        [t, 1.5],
        [t + 10, -2],
        [t + 30, 1e300],
      ],
      now,
    });
    const store = new WhisperStore({ dataDir: dataDir(), resolutions });
    expect(await store.fetch('legacy.metric', fine, t, t + 40)).toEqual([1.5, -2, null, 1e300]);
    // Our 10m resolution has no archive in this file: nothing to read, nothing written, counted.
    expect(await store.fetch('legacy.metric', coarse, windowStart(t, 600), windowStart(t, 600) + 600)).toEqual([null]);
    // The file's own method wins over our rules (average for this name): its header says how values are meant.
    await store.write(makeBatch(fine, t + 20, [['legacy.metric', stat4(t + 20, 7)]]));
    await store.close();
    expect(pythonFetch(path, t - 10, t + 30, now, 10)?.[1]).toEqual([1.5, -2, expectedBy.max(7), 1e300]);
    expect(whisperInfo(path).aggregationMethod).toBe('max');
    expect(await new WhisperStore({ dataDir: dataDir(), resolutions }).listSeries()).toEqual(['legacy.metric']);
  });
});
