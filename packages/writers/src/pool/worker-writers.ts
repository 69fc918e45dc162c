/** The writers a pool worker can build, by kind. A new writer kind adds its factory here. */
import { CassandraBlobWriter } from '../blob/blob-writer.js';
import { CassandraFlatWriter } from '../cassandra/flat-writer.js';
import type { WriterSpec } from './messages.js';
import type { ShardWriter } from './shard-writer.js';

export function createShardWriter(spec: WriterSpec): ShardWriter {
  switch (spec.kind) {
    case 'cassandra':
      return new CassandraFlatWriter(spec.name, spec.options);
    case 'cassandra-blob':
      return new CassandraBlobWriter(spec.name, spec.options, spec.blob);
  }
}
