export * from './config.js';
export * from './record.js';
export * from './replay.js';
export * from './spool.js';
