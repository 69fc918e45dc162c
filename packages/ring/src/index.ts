export * from './murmur3.js';
export * from './hash-ring.js';
export * from './ring-versions.js';
export * from './ring-store.js';
export * from './membership.js';
export * from './statsd-hashring.js';
export * from './placement.js';
export * from './ring-config.js';
