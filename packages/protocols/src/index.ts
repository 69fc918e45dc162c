export * from './reasons.js';
export * from './number.js';
export * from './graphite.js';
export * from './statsd.js';
export * from './lines.js';
export * from './framing.js';
export * from './listeners.js';
export * from './listener-config.js';
