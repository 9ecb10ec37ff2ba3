import { Pool } from "undici"

/**
 * A keep-alive connection pool to one origin. Connections open lazily, as concurrency needs them.
 * Bounded timeouts so that a hung server fails requests (reported as errors) instead of hanging the
 * bench.
 */
export const makePool = (origin: string, connections: number): Pool =>
  new Pool(origin, {
    connections,
    pipelining: 1,
    keepAliveTimeout: 60_000,
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
    connectTimeout: 10_000
  })
