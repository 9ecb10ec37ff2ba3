import { Cluster, type ClusterNode, type ClusterOptions, Redis, type RedisOptions } from "ioredis"
import { Context, Effect, Layer, Schedule, Schema, type Scope } from "effect"
import type { RedisTarget } from "./RedisTarget.ts"
import { invokeScript, type RedisConnection, registerScripts, type Script } from "./scripts.ts"

export class RedisUnavailable extends Schema.TaggedError<RedisUnavailable>()("RedisUnavailable", {
  message: Schema.String
}) {}

export interface RedisClientShape {
  /** The raw connection, Lua scripts registered. Prefer `use`/`run`, which type the failures. */
  readonly connection: RedisConnection
  readonly use: <A>(f: (connection: RedisConnection) => Promise<A>) => Effect.Effect<A, RedisUnavailable>
  /** Runs a registered Lua script; a reply of an unexpected shape is a defect. */
  readonly run: <I, O>(script: Script<I, O>, input: I) => Effect.Effect<O, RedisUnavailable>
  readonly ping: Effect.Effect<void, RedisUnavailable>
  /**
   * A connection of its own for blocking reads (XREAD BLOCK would hold up every other command on a
   * shared one), closed with the scope. Its command timeout leaves room for `blockMs`.
   */
  readonly dedicated: (blockMs: number) => Effect.Effect<RedisConnection, RedisUnavailable, Scope.Scope>
  /**
   * A connection of its own for sharded pub/sub, closed with the scope. It does not subscribe again
   * by itself after a reconnect: its owner does, then reads what it missed meanwhile.
   */
  readonly subscriber: Effect.Effect<RedisConnection, RedisUnavailable, Scope.Scope>
  /**
   * A connection of its own to the same Redis (node or cluster), some options replaced, connected,
   * closed with the scope: for libraries that want one (BullMQ, a rate limiter's store). On a cluster,
   * `options` apply to each node's connection and `clusterOptions` to the cluster client.
   */
  readonly copy: (
    options: Partial<RedisOptions>,
    clusterOptions?: Partial<ClusterOptions>
  ) => Effect.Effect<RedisConnection, RedisUnavailable, Scope.Scope>
}

/** A down Redis must fail a command within this bound instead of hanging the request. */
const COMMAND_TIMEOUT_MS = 2000

/**
 * Commands issued while reconnecting wait in the offline queue, so a blip does not fail them; after
 * MAX_RETRIES_PER_REQUEST failed reconnects (about 1.5 s with this backoff) the queue is flushed with
 * an error, so a long outage neither hangs requests nor grows the queue.
 */
const MAX_RETRIES_PER_REQUEST = 5
const reconnectDelayMs = (attempt: number) => Math.min(attempt * 100, 1000)
const COPY_CONNECT_RETRIES = 4

const connectionOptions = {
  protocol: 2,
  lazyConnect: true,
  enableOfflineQueue: true,
  maxRetriesPerRequest: MAX_RETRIES_PER_REQUEST,
  commandTimeout: COMMAND_TIMEOUT_MS,
  connectTimeout: COMMAND_TIMEOUT_MS,
  retryStrategy: reconnectDelayMs
} satisfies RedisOptions

/** A new connection to the same Redis (node or cluster) with some options replaced; the caller owns it. */
const duplicateConnection = (
  connection: RedisConnection,
  options: Partial<RedisOptions>,
  clusterOptions: Partial<ClusterOptions> = {}
): RedisConnection =>
  "nodes" in connection
    ? connection.duplicate(undefined, { ...clusterOptions, redisOptions: { ...connection.options.redisOptions, ...options } })
    : connection.duplicate(options)

const make = (create: () => RedisConnection) =>
  Effect.gen(function*() {
    // ioredis reports connection failures as events; keep the last one to explain failed commands.
    let lastConnectionError: string | undefined
    const unavailable = (cause: unknown) => {
      const message = cause instanceof Error ? cause.message : String(cause)
      return new RedisUnavailable({
        message: lastConnectionError === undefined || message === lastConnectionError
          ? message
          : `${message} (last connection error: ${lastConnectionError})`
      })
    }

    const connection = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: async () => {
          const connection = create()
          connection.on("error", (error: Error) => {
            lastConnectionError = error.message
          })
          connection.on("ready", () => {
            lastConnectionError = undefined
          })
          registerScripts(connection)
          // A failed first connect would otherwise keep reconnecting in the background.
          await connection.connect().catch((error: unknown) => {
            connection.disconnect()
            throw error
          })
          return connection
        },
        catch: unavailable
      }),
      (connection) => Effect.promise(() => connection.quit().then(() => undefined, () => connection.disconnect()))
    )

    const use = <A>(f: (connection: RedisConnection) => Promise<A>): Effect.Effect<A, RedisUnavailable> =>
      Effect.tryPromise({ try: () => f(connection), catch: unavailable })

    const run = <I, O>(script: Script<I, O>, input: I): Effect.Effect<O, RedisUnavailable> =>
      use((connection) => invokeScript(connection, script, input)).pipe(
        Effect.flatMap((reply) => Effect.sync(() => script.decode(reply)))
      )

    // The first connect of a copy can time out while the main connection is up (a busy host, a slow
    // CLUSTER SLOTS): try again a few times rather than fail, and never leave a failed copy reconnecting.
    const copyOf = (options: Partial<RedisOptions>, clusterOptions: Partial<ClusterOptions> = {}) =>
      Effect.acquireRelease(
        Effect.tryPromise({
          try: async () => {
            const copy = duplicateConnection(connection, { ...options, lazyConnect: true }, { ...clusterOptions, lazyConnect: true })
            copy.on("error", () => {
              // Reported by the command that fails; without a listener ioredis would print it.
            })
            await copy.connect().catch((error: unknown) => {
              copy.disconnect()
              throw error
            })
            return copy
          },
          catch: unavailable
        }).pipe(Effect.retry({ times: COPY_CONNECT_RETRIES, schedule: Schedule.exponential("200 millis") })),
        (copy) => Effect.sync(() => copy.disconnect())
      )

    const dedicated = (blockMs: number) => copyOf({ commandTimeout: blockMs + COMMAND_TIMEOUT_MS })
    const subscriber = copyOf({ autoResubscribe: false }, { shardedSubscribers: true })

    return RedisClient.of({
      connection,
      use,
      run,
      ping: Effect.asVoid(use((connection) => connection.ping())),
      dedicated,
      subscriber,
      copy: copyOf
    })
  })

export class RedisClient extends Context.Service<RedisClient, RedisClientShape>()("synckairos/infra/RedisClient") {
  /** One standalone connection, e.g. `redis://127.0.0.1:6379`. */
  static layer(url: string): Layer.Layer<RedisClient, RedisUnavailable> {
    return Layer.effect(RedisClient, make(() => new Redis(url, connectionOptions)))
  }

  /** A Redis Cluster connection from a few seed nodes. */
  static layerCluster(nodes: ReadonlyArray<ClusterNode>): Layer.Layer<RedisClient, RedisUnavailable> {
    const { enableOfflineQueue, lazyConnect, retryStrategy, ...redisOptions } = connectionOptions
    return Layer.effect(
      RedisClient,
      make(() =>
        new Cluster([...nodes], {
          enableOfflineQueue,
          lazyConnect,
          redisOptions,
          clusterRetryStrategy: retryStrategy,
          // CLUSTER SLOTS may take as long as any command on a busy host (default 1 s).
          slotsRefreshTimeout: COMMAND_TIMEOUT_MS
        })
      )
    )
  }

  /** The connection the configuration asks for: one node or a cluster. */
  static layerFor(target: RedisTarget): Layer.Layer<RedisClient, RedisUnavailable> {
    return target._tag === "Cluster" ? RedisClient.layerCluster(target.seeds) : RedisClient.layer(target.url)
  }
}
