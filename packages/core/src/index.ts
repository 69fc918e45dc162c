export * from './errors.js';
export * from './ids.js';
export * from './key.js';
export * from './log.js';
export * from './metrics.js';
export * from './resolution.js';
export * from './statpoint.js';
export * from './time.js';
