export * from './frame.js';
export * from './metrics.js';
export * from './replay.js';
export * from './segments.js';
export * from './writer.js';
