export * from './exposition.js';
export * from './mapping.js';
export * from './prometheus-writer.js';
