export * from './blob/index.js';
export * from './cassandra/index.js';
export * from './pool/index.js';
export * from './whisper/index.js';
export * from './redis/index.js';
export * from './url.js';
export * from './mysql/index.js';
export * from './prometheus/index.js';
