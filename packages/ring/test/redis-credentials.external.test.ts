/**
 * Redis credentials kept secret: membership authenticates with `ring.redis_username`/`ring.redis_password` (an
 * ACL user made on the real Redis for this test), and when AUTH fails, whether the password came from the keys or
 * from the URL, no log line carries it (ioredis attaches `AUTH <password>` to its error).
 */
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigSource, createLogger, MetricsRegistry } from '@carillon/core';
import { createMembership, readRingConfig } from '@carillon/ring';
import { redisUrl } from '../../../test/harness/servers.js';
import { waitFor } from '../../../test/support/wait.js';

const user = `carillon-test-${randomUUID().slice(0, 8)}`;
const password = `pw-${randomUUID()}`;
let url: string;
let admin: Redis;

beforeAll(async () => {
  url = await redisUrl();
  admin = new Redis(url, { connectTimeout: 2000, commandTimeout: 2000, maxRetriesPerRequest: 1 });
  await admin.call('ACL', 'SETUSER', user, 'on', `>${password}`, '~*', '&*', '+@all');
});

afterAll(async () => {
  await admin.call('ACL', 'DELUSER', user);
  await admin.quit();
});

function captured(): { logger: ReturnType<typeof createLogger>; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return { logger: createLogger('redis-credentials-test', 'debug', stream), text: () => text };
}

function membershipFor(settings: Record<string, string>, logger: ReturnType<typeof createLogger>) {
  const source = new ConfigSource(
    {},
    {},
    new Map(Object.entries({ 'ring.prefix': `cred-${randomUUID()}`, 'ring.timeout': '500ms', ...settings })),
  );
  const ring = readRingConfig(source);
  return createMembership(ring, { step: 10, metrics: new MetricsRegistry(), logger });
}

describe('Redis credentials', () => {
  it('authenticates with ring.redis_username and ring.redis_password', async () => {
    const log = captured();
    const membership = membershipFor(
      { 'ring.redis_url': url, 'ring.redis_username': user, 'ring.redis_password': password },
      log.logger,
    );
    await membership.start();
    expect(membership.schedule.versions).toEqual([]);
    await membership.close();
    expect(log.text()).not.toContain(password);
  });

  for (const [what, settings] of [
    [
      'from the keys',
      (wrong: string) => ({ 'ring.redis_url': url, 'ring.redis_username': user, 'ring.redis_password': wrong }),
    ],
    ['in the URL', (wrong: string) => ({ 'ring.redis_url': url.replace('redis://', `redis://${user}:${wrong}@`) })],
  ] as const) {
    it(`logs a failed AUTH without the password ${what}`, async () => {
      const wrong = `wrong-${randomUUID()}`;
      const log = captured();
      const membership = membershipFor(settings(wrong), log.logger);
      // start() waits for Redis with backoff (a refused AUTH is retried like a Redis not up yet) until close().
      const starting = membership.start().catch(() => undefined);
      await waitFor('the AUTH failure logged', () => log.text().includes('WRONGPASS'));
      await membership.close();
      await starting;
      expect(log.text()).not.toContain(wrong);
      expect(log.text()).toContain('"command":{"name":"auth"}');
    });
  }
});
