export * from './whisper/index.js';
