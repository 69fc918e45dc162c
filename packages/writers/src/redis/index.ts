export * from './redis-writer.js';
export * from './script.js';
