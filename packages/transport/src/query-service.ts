/**
 * The Query service (proto/ingest.proto) both ways: `queryServiceHandlers` turns a QueryHandler (the accumulator's
 * finder and sources) into gRPC handlers on the Ingest server's port; `QueryClient` is a front's client to one
 * member, every call with a deadline. A handler error whose `requestError` is true (a limit, a bad glob) travels as
 * INVALID_ARGUMENT and comes back as a QueryRefusal, so the front can tell a refused request from a missing shard.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { INGEST_PROTO_PATH } from './ingest-proto.js';
import type { LinkSecurity } from './accumulator-link.js';
import { callMetadata } from './cluster-security.js';

export interface WireFoundNode {
  path: string;
  name: string;
  leaf: boolean;
  branch: boolean;
}

/** What an accumulator answers reads with; the shapes of query's SeriesFinder, with expressions as texts. */
export interface QueryHandler {
  find(query: string, limit: number): Promise<WireFoundNode[]>;
  findTagged(expressions: readonly string[], limit: number): Promise<string[]>;
  names(limit: number): Promise<string[]>;
  tagNames(): Promise<string[]>;
  has(names: readonly string[]): Promise<boolean[]>;
  /** One array per name, one slot per window of `step` from `from` to `until` (exclusive); null for no value. */
  fetch(names: readonly string[], step: number, from: number, until: number): Promise<(number | null)[][]>;
  /** True for an error meaning the request itself was refused (sent back as INVALID_ARGUMENT). */
  isRequestError(error: unknown): boolean;
}

/** The member refused the request as asked; `message` is meant for the Graphite client. */
export class QueryRefusal extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QueryRefusal';
  }
}

const LOADER_OPTIONS: protoLoader.Options = { keepCase: false, longs: Number, enums: String, defaults: true };

let cached: grpc.ServiceClientConstructor | undefined;

/** The generated `carillon.v1.Query` service constructor. */
export function queryService(): grpc.ServiceClientConstructor {
  if (cached) return cached;
  const definition = protoLoader.loadSync(INGEST_PROTO_PATH, LOADER_OPTIONS);
  const root = grpc.loadPackageDefinition(definition);
  const v1 = (root['carillon'] as grpc.GrpcObject)['v1'] as grpc.GrpcObject;
  cached = v1['Query'] as grpc.ServiceClientConstructor;
  return cached;
}

interface FetchReplyWire {
  series: { values: number[] }[];
}

type Unary<Req, Rep> = (call: grpc.ServerUnaryCall<Req, Rep>, callback: grpc.sendUnaryData<Rep>) => void;

/** The cluster token check of a call: the refusal to answer with, or undefined to go on. */
export type QueryAdmission = (metadata: grpc.Metadata) => Partial<grpc.StatusObject> | undefined;

function unary<Req, Rep>(
  handler: QueryHandler,
  admit: QueryAdmission,
  answer: (request: Req) => Promise<Rep>,
): Unary<Req, Rep> {
  return (call, callback) => {
    const refused = admit(call.metadata);
    if (refused) {
      callback(refused);
      return;
    }
    answer(call.request).then(
      (reply) => callback(null, reply),
      (error: unknown) =>
        callback({
          code: handler.isRequestError(error) ? grpc.status.INVALID_ARGUMENT : grpc.status.INTERNAL,
          details: error instanceof Error ? error.message : String(error),
        }),
    );
  };
}

/** The Query service's handlers over `handler`, for `server.addService(queryService().service, ...)`. */
export function queryServiceHandlers(
  handler: QueryHandler,
  admit: QueryAdmission = () => undefined,
): grpc.UntypedServiceImplementation {
  const unaryOf = <Req, Rep>(answer: (request: Req) => Promise<Rep>): Unary<Req, Rep> => unary(handler, admit, answer);
  return {
    Find: unaryOf(async (r: { query: string; limit: number }) => ({
      nodes: await handler.find(r.query, r.limit),
    })),
    FindTagged: unaryOf(async (r: { expressions: string[]; limit: number }) => ({
      names: await handler.findTagged(r.expressions, r.limit),
    })),
    Names: unaryOf(async (r: { limit: number }) => ({ names: await handler.names(r.limit) })),
    TagNames: unaryOf(async () => ({ names: await handler.tagNames() })),
    Has: unaryOf(async (r: { names: string[] }) => ({ known: await handler.has(r.names) })),
    Fetch: unaryOf(
      async (r: { names: string[]; step: number; from: number; until: number }): Promise<FetchReplyWire> => {
        const series = await handler.fetch(r.names, r.step, r.from, r.until);
        return { series: series.map((values) => ({ values: values.map((v) => (v === null ? NaN : v)) })) };
      },
    ),
  };
}

type UnaryClientMethod = (
  request: object,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (error: grpc.ServiceError | null, reply?: unknown) => void,
) => grpc.ClientUnaryCall;

/** One member's Query service. Calls fail with QueryRefusal (refused as asked) or the gRPC error (a lost shard). */
export class QueryClient {
  private readonly client: grpc.Client & Record<string, UnaryClientMethod>;

  private readonly metadata: grpc.Metadata;

  constructor(
    readonly address: string,
    private readonly timeoutMs: number,
    maxMessageBytes: number,
    /** The cluster token and TLS, as the relay's links use them. */
    security?: LinkSecurity,
  ) {
    const Query = queryService();
    this.metadata = callMetadata(security?.token ?? '');
    this.client = new Query(address, security?.credentials ?? grpc.credentials.createInsecure(), {
      ...(security?.serverName ? { 'grpc.ssl_target_name_override': security.serverName } : {}),
      'grpc.max_receive_message_length': maxMessageBytes,
      'grpc.max_send_message_length': maxMessageBytes,
      // A down member is found out by the deadline, not after minutes of reconnect backoff.
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 2000,
    }) as unknown as grpc.Client & Record<string, UnaryClientMethod>;
  }

  async find(query: string, limit: number): Promise<WireFoundNode[]> {
    return ((await this.call('Find', { query, limit })) as { nodes: WireFoundNode[] }).nodes;
  }

  async findTagged(expressions: readonly string[], limit: number): Promise<string[]> {
    return ((await this.call('FindTagged', { expressions, limit })) as { names: string[] }).names;
  }

  async names(limit: number): Promise<string[]> {
    return ((await this.call('Names', { limit })) as { names: string[] }).names;
  }

  async tagNames(): Promise<string[]> {
    return ((await this.call('TagNames', {})) as { names: string[] }).names;
  }

  async has(names: readonly string[]): Promise<boolean[]> {
    return ((await this.call('Has', { names })) as { known: boolean[] }).known;
  }

  async fetch(names: readonly string[], step: number, from: number, until: number): Promise<(number | null)[][]> {
    const reply = (await this.call('Fetch', { names, step, from, until })) as FetchReplyWire;
    const count = Math.max(0, (until - from) / step);
    if (reply.series.length !== names.length)
      throw new Error(`Fetch answered ${reply.series.length} of ${names.length} series`);
    return reply.series.map(({ values }) => {
      const out = new Array<number | null>(count).fill(null);
      for (let i = 0; i < Math.min(count, values.length); i++) {
        const v = values[i]!;
        out[i] = Number.isFinite(v) ? v : null;
      }
      return out;
    });
  }

  close(): void {
    this.client.close();
  }

  private call(method: string, request: object): Promise<unknown> {
    const deadline = Date.now() + this.timeoutMs;
    return new Promise((resolve, reject) => {
      this.client[method]!(request, this.metadata, { deadline }, (error, reply) => {
        if (error) reject(error.code === grpc.status.INVALID_ARGUMENT ? new QueryRefusal(error.details) : error);
        else resolve(reply);
      });
    });
  }
}
