export * from './format.js';
export * from './layout.js';
export * from './store.js';
export { HandleCache, type HandleCacheOptions } from './handle-cache.js';
export { KeyedLock, Semaphore } from './concurrency.js';
export { FdFile, type RandomAccessFile } from './fd-file.js';
export * from './config.js';
export * from './reader.js';
