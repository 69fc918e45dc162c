export * from './ingest-proto.js';
export * from './ingest-server.js';
export * from './batch-builder.js';
export * from './retention-queue.js';
export * from './accumulator-link.js';
export * from './link-config.js';
export * from './query-service.js';
