/**
 * The redis writer's fault test (fault.ts): its own redis-server is stopped for 60 s under traffic and started
 * again; its streams end up with every window exactly, the failures are counted, the file writer beside it is
 * unaffected.
 */
import { Redis } from 'ioredis';
import { ownRedis } from '../harness/own-servers.js';
import { checkServerHoldsAll, describeFault, ownedFaultServer } from './fault.js';
import { readStreams } from './redis-read.js';

const PREFIX = 'wt-fault:';

describeFault({
  writer: 'redis',
  server: 'the server',
  // Persistent: a Redis without it forgets at the stop what it held, which is not the writer's loss.
  start: () => ownRedis({ persist: true }),
  faultServer: ownedFaultServer,
  close: (server) => server.close(),
  writerToml: (server) => [
    `url = "redis://127.0.0.1:${server.port}"`,
    `key_prefix = "${PREFIX}"`,
    'stream_max_len = 100000',
    'flush_interval = "100ms"',
  ],
  async holdsAll(server, run) {
    const redis = new Redis({ port: server.port });
    try {
      await checkServerHoldsAll(() => readStreams(redis, PREFIX), run);
    } finally {
      redis.disconnect();
    }
  },
});
