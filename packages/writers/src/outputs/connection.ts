/**
 * The connection-based archetype's shared piece: one connection opened lazily on first use, under a connect
 * timeout; after a failure (of the connect, or of an I/O the writer reports with `broken`) the next connect is
 * not tried before a backoff delay has passed (rate-limited: a dead server costs one attempt per delay, not one
 * per delivery); close() closes it cleanly, under a timeout.
 */
import { WriterError } from './errors.js';
import { backoffDelay, withTimeout, type BackoffOptions } from './timing.js';

export interface ConnectionOptions<C> {
  /** For messages: the writer's name. */
  name: string;
  connect(signal: AbortSignal): Promise<C>;
  disconnect(connection: C): Promise<void>;
  connectTimeoutMs: number;
  closeTimeoutMs: number;
  backoff: BackoffOptions;
}

export class Reconnecting<C> {
  private connection: C | undefined;
  private connecting: Promise<C> | undefined;
  private failures = 0;
  private notBefore = 0;
  private closed = false;
  /** Connections opened so far (tests, logs). */
  connects = 0;

  constructor(private readonly options: ConnectionOptions<C>) {}

  /** The open connection, connecting first if there is none; throws a `connect` WriterError while backing off. */
  async get(): Promise<C> {
    if (this.closed) throw new WriterError('connect', `${this.options.name}: closed`);
    if (this.connection !== undefined) return this.connection;
    if (this.connecting !== undefined) return this.connecting;
    const wait = this.notBefore - Date.now();
    if (wait > 0) throw new WriterError('connect', `${this.options.name}: reconnecting in ${Math.ceil(wait)} ms`);
    this.connecting = this.open().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async open(): Promise<C> {
    const signal = AbortSignal.timeout(this.options.connectTimeoutMs);
    try {
      const connection = await withTimeout(
        this.options.connect(signal),
        this.options.connectTimeoutMs,
        `${this.options.name} connect`,
      );
      if (this.closed) {
        await this.options.disconnect(connection).catch(() => undefined);
        throw new WriterError('connect', `${this.options.name}: closed`);
      }
      this.connection = connection;
      this.failures = 0;
      this.connects++;
      return connection;
    } catch (error) {
      this.failed();
      if (error instanceof WriterError) throw error;
      throw new WriterError('connect', `${this.options.name}: connect failed: ${(error as Error).message}`, false, {
        cause: error,
      });
    }
  }

  private failed(): void {
    this.failures++;
    this.notBefore = Date.now() + backoffDelay(this.failures, this.options.backoff);
  }

  /** The writer saw this connection fail: drop it; the next get() reconnects after the backoff. */
  broken(connection: C): void {
    if (this.connection !== connection) return;
    this.connection = undefined;
    this.failed();
    void this.options.disconnect(connection).catch(() => undefined);
  }

  get isConnected(): boolean {
    return this.connection !== undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    const connection = this.connection ?? (await this.connecting?.catch(() => undefined));
    this.connection = undefined;
    if (connection !== undefined)
      await withTimeout(this.options.disconnect(connection), this.options.closeTimeoutMs, `${this.options.name} close`);
  }
}
