/**
 * A request the API cannot answer as asked. `status` is the HTTP status to answer with; the message goes to the
 * client verbatim, so it must say what was wrong with the request.
 */
export class QueryError extends Error {
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = 'QueryError';
  }
}
