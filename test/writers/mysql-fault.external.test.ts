/**
 * The mysql writer's fault test (fault.ts): its own mariadbd is stopped for 60 s under traffic and started again;
 * its tables end up with one exact row per series and window at every resolution, the failures are counted, the
 * file writer beside it is unaffected.
 */
import { ownMariadb, type OwnServer } from '../harness/own-servers.js';
import { checkServerHoldsAll, describeFault, ownedFaultServer } from './fault.js';
import { readRows } from './mysql-read.js';

const DATABASE = 'wt_fault';
const root = (server: OwnServer): { host: string; port: number; user: string; password: string } => ({
  host: server.host,
  port: server.port,
  user: 'root',
  password: '',
});

describeFault({
  writer: 'mysql',
  server: 'the server',
  start: () => ownMariadb(),
  faultServer: ownedFaultServer,
  close: (server) => server.close(),
  writerToml: (server) => [
    `host = "${server.host}"`,
    `port = ${server.port}`,
    'user = "root"',
    'password = ""',
    `database = "${DATABASE}"`,
    'flush_interval = "200ms"',
  ],
  holdsAll: (server, run) => checkServerHoldsAll(() => readRows(root(server), DATABASE), run),
});
