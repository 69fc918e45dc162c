// Preloaded into the reference StatsD daemon (npm statsd 0.9.0), which logs through util.log: Node 23 removed it.
// Same shape as Node's old util.log: a timestamp, " - ", then the formatted message.
import util from 'node:util';

if (typeof util.log !== 'function') {
  util.log = (...args) => console.log(`${new Date().toISOString()} - ${util.format(...args)}`);
}
