export * from './mysql-writer.js';
export * from './rows.js';
export * from './schema.js';
