export * from './config.js';
export * from './http-server.js';
export * from './line-router.js';
export * from './link-pool.js';
export * from './relay.js';
export * from './cluster-read.js';
export * from './spool-stage.js';
export * from './spool/index.js';
