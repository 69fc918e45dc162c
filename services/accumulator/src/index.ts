export * from './http-server.js';
export * from './line-ingest.js';
export * from './node.js';
export * from './node-config.js';
export * from './writer-sink.js';
