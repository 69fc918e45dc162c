export * from './blob/index.js';
export * from './cassandra/index.js';
export * from './pool/index.js';
export * from './whisper/index.js';
export * from './outputs/index.js';
