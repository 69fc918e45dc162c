/**
 * A consumer's hold on the listeners that feed it: while it is shut, every TCP connection of the listeners that
 * share it stops reading (the kernel's socket buffers and then TCP's flow control hold the senders back), and UDP
 * datagrams, which cannot be held, are refused line by line as `queue_full`. The listener threads of the single
 * node shut theirs while the lines they handed to the main thread and it has not aggregated pass a byte bound.
 */
import type { Socket } from 'node:net';

export class ReadGate {
  private readonly sockets = new Set<Socket>();
  private shut = false;

  get isShut(): boolean {
    return this.shut;
  }

  /** A new connection: it starts held if the gate is shut. */
  add(socket: Socket): void {
    this.sockets.add(socket);
    if (this.shut) socket.pause();
  }

  delete(socket: Socket): void {
    this.sockets.delete(socket);
  }

  close(): void {
    if (this.shut) return;
    this.shut = true;
    for (const socket of this.sockets) socket.pause();
  }

  open(): void {
    if (!this.shut) return;
    this.shut = false;
    for (const socket of this.sockets) socket.resume();
  }
}
