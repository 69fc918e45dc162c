export * from './murmur3.js';
