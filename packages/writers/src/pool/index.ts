export * from './messages.js';
export * from './series-shard.js';
export * from './shard-writer.js';
export * from './write-pool.js';
