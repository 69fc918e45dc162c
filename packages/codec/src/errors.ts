/** Bytes that are not a chunk this build can read: unknown version, truncated, or corrupt. */
export class ChunkFormatError extends Error {
  constructor(problem: string) {
    super(`chunk: ${problem}`);
    this.name = 'ChunkFormatError';
  }
}
