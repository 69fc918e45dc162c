export * from './ingest-proto.js';
export * from './ingest-server.js';
