export * from './amend-mark.js';
export * from './checkpoint.js';
export * from './metrics.js';
export * from './record.js';
export * from './replay.js';
export * from './segments.js';
export * from './writer.js';
