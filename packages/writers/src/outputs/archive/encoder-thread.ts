/** The archive encoder's worker thread: encodes each chunk it is sent and posts the compressed bytes back. */
import { parentPort } from 'node:worker_threads';
import { encodeArchive } from './encode.js';
import type { EncodeReply, EncodeRequest } from './encoder.js';

const port = parentPort;
if (!port) throw new Error('encoder-thread.js runs as the archive encoder thread only');
port.on('message', ({ id, chunk, level }: EncodeRequest) => {
  let reply: EncodeReply;
  try {
    const data = encodeArchive(chunk, level);
    // Transferred below, so it must own its whole buffer (a small Buffer is a slice of a shared pool).
    reply = {
      id,
      data: data.byteOffset === 0 && data.byteLength === data.buffer.byteLength ? data : new Uint8Array(data),
    };
  } catch (error) {
    reply = { id, error: (error as Error).message };
  }
  port.postMessage(reply, 'data' in reply ? [reply.data.buffer as ArrayBuffer] : []);
});
