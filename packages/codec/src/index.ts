export { BitReader } from './bit-reader.js';
export { BitWriter } from './bit-writer.js';
export { ChunkEncoder, decodeChunk, encodeChunk } from './chunk.js';
export { ChunkFormatError } from './errors.js';
export {
  CHUNK_FORMAT_VERSION,
  MAX_CHUNK_STEP,
  MAX_CHUNK_TIME,
  READABLE_CHUNK_VERSIONS,
  readChunkHeader,
} from './header.js';
export type { ChunkHeader } from './header.js';
