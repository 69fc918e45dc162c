// The reference daemon's own UDP server (node_modules/statsd/servers/udp.js), with one change: the socket's
// receive buffer is as large as carillon's in this test (statsd.udp_receive_buffer_bytes), so on a loaded machine
// both receive the same datagrams and the comparison is of their outputs, not of who drains a socket sooner.
// The daemon loads it with require() (of an ES module, which Node 24 does).
import { createSocket } from 'node:dgram';

export function start(config, callback) {
  const type = config.address_ipv6 ? 'udp6' : 'udp4';
  const server = createSocket({ type, recvBufferSize: config.recvBufferSize }, callback);
  server.bind(config.port || 8125, config.address || undefined);
  return true;
}
