export * from './client.js';
export * from './finder.js';
export * from './flat-writer.js';
export * from './index-rows.js';
export * from './options.js';
export * from './reader.js';
export * from './schema.js';
export * from './store.js';
