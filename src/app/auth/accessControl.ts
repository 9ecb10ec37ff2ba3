import cors from "@fastify/cors"
import rateLimit, { type FastifyRateLimitStore } from "@fastify/rate-limit"
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from "fastify"
import fp from "fastify-plugin"
import { leaseFromRedis, makeRateLimitLeases, type RateLimitLeases, type WindowCount } from "../../infra/RateLimitLeases.ts"
import type { RedisConnection } from "../../infra/scripts.ts"
import type { HttpFailure } from "../http/errorMapping.ts"
import { sendFailure } from "../http/runner.ts"
import { type Action, authorize } from "./access.ts"
import { type Authenticator, type Credential, OPEN, scopeOf } from "./credentials.ts"

declare module "fastify" {
  interface FastifyContextConfig {
    /** What the route does, for authorization; a guarded route without one is for API keys only. */
    action?: Action
  }
  interface FastifyRequest {
    /** Set by access control on guarded routes; null elsewhere (and everywhere when auth is off). */
    credential: Credential | null
  }
}

export const credentialOf = (request: FastifyRequest): Credential => request.credential ?? OPEN

/**
 * `/v1/...` and `/ws` need credentials; `/health`, `/ready`, `/metrics`, `/docs` and `/v1/time` stay
 * open (time sync must stay cheap and symmetric, so it is not rate limited either).
 */
export const isGuarded = (request: FastifyRequest): boolean => {
  const path = request.routeOptions.url ?? request.url.split("?", 1)[0]!
  return path === "/ws" || (path.startsWith("/v1/") && path !== "/v1/time")
}

/** A field of a request's params or query: Fastify types both as unknown in a hook, before any route's schema. */
const fieldOf = (value: unknown, name: string): unknown =>
  typeof value === "object" && value !== null ? Reflect.get(value, name) : undefined

const sessionIdOf = (request: FastifyRequest): string | undefined => {
  const id = fieldOf(request.params, "id") ?? fieldOf(request.query, "sessionId")
  return typeof id === "string" ? id : undefined
}

export interface RateLimits {
  readonly rateLimitTokenRps: number
  readonly rateLimitKeyRps: number
}

/** Requests (and WebSocket frames) per second a credential may send. */
export const rateOf = (credential: Credential, limits: RateLimits): number =>
  credential.kind === "token" ? limits.rateLimitTokenRps : limits.rateLimitKeyRps

export interface AccessControlOptions extends RateLimits {
  readonly authenticator: Authenticator
  /** The shared Redis connection: the rate limit's counters live there, so every instance enforces one limit. */
  readonly redis: RedisConnection
  readonly keyPrefix: string
  readonly corsOrigins: ReadonlyArray<string>
}

const RATE_LIMITED = "RATE_LIMITED"

/** A refused WebSocket upgrade is answered over HTTP, then its socket ended (the WebSocket plugin never sees it). */
const refuse = (request: FastifyRequest, reply: FastifyReply, failure: HttpFailure) => {
  if (request.headers.upgrade !== undefined) reply.raw.once("finish", () => request.raw.socket.destroy())
  return sendFailure(reply, failure)
}

/** The rate limit's counters, leased from Redis (see RateLimitLeases); a route with its own limit counts apart. */
class LeasedStore implements FastifyRateLimitStore {
  constructor(private readonly leases: RateLimitLeases, private readonly prefix: string) {}

  incr(key: string, callback: (error: Error | null, result?: WindowCount) => void, timeWindow: number, max: number) {
    this.leases.count(this.prefix + key, timeWindow, max).then(
      (count) => callback(null, count),
      (error: unknown) => callback(error instanceof Error ? error : new Error(String(error)))
    )
  }

  child(options: RouteOptions): FastifyRateLimitStore {
    // Typed as the route's options, but the plugin passes its own merged with the route's, the route
    // under `routeInfo` (where its RedisStore reads it too).
    const route: Pick<RouteOptions, "method" | "url"> = Reflect.get(options, "routeInfo")
    return new LeasedStore(this.leases, `${this.prefix}${String(route.method)}${route.url}-`)
  }
}

/**
 * Authentication, authorization at the route's action, CORS and rate limits, for every route
 * registered after it. Nothing behind a refusal runs, so a refused request writes nothing.
 */
export const accessControl = fp(async (app: FastifyInstance, options: AccessControlOptions) => {
  // Unset: no CORS headers, so browsers allow same-origin calls only.
  await app.register(cors, {
    origin: options.corsOrigins.length === 0 ? false : [...options.corsOrigins],
    methods: ["GET", "POST", "DELETE"],
    allowedHeaders: ["Authorization", "Content-Type", "Idempotency-Key", "If-Match"],
    exposedHeaders: ["ETag", "Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"],
    maxAge: 600
  })

  app.decorateRequest("credential", null)
  if (options.authenticator.enabled) {
    app.addHook("onRequest", async (request, reply) => {
      if (request.method === "OPTIONS" || !isGuarded(request)) return
      const queryToken = request.routeOptions.url === "/ws" ? fieldOf(request.query, "token") : undefined
      const authentication = await options.authenticator.authenticate(
        request.headers.authorization,
        typeof queryToken === "string" ? queryToken : undefined
      )
      if (!authentication.ok) {
        void reply.header("www-authenticate", "Bearer")
        return refuse(request, reply, { status: 401, code: "UNAUTHORIZED", message: authentication.message })
      }
      request.credential = authentication.credential
      const access = authorize(authentication.credential, request.routeOptions.config.action, sessionIdOf(request))
      if (!access.allowed) return refuse(request, reply, { status: 403, code: "FORBIDDEN", message: access.reason })
    })
  }

  const leases = makeRateLimitLeases(leaseFromRedis(options.redis))
  // Beside the service's keys rather than under its prefix: a counter lives one window and is no
  // session data, so what a request writes under the prefix stays exactly what it did to a session.
  const nameSpace = `ratelimit:${options.keyPrefix}`
  await app.register(rateLimit, {
    store: class extends LeasedStore {
      constructor() {
        super(leases, nameSpace)
      }
    },
    timeWindow: 1000,
    max: (request) => rateOf(credentialOf(request), options),
    keyGenerator: (request) => {
      const credential = credentialOf(request)
      return credential.kind === "open" ? `ip:${request.ip}` : scopeOf(credential)
    },
    allowList: (request) => request.method === "OPTIONS" || !isGuarded(request),
    // A Redis outage fails the command itself with 503; the limit does not add a second failure.
    skipOnError: true,
    enableDraftSpec: true,
    errorResponseBuilder: (_request, context) =>
      Object.assign(new Error(`more than ${context.max} requests per second; retry in ${context.after}`), {
        statusCode: 429,
        code: RATE_LIMITED
      })
  })
}, { name: "synckairos-access-control", fastify: "5.x" })

/** The rate limit's refusal, as the error handler answers it. */
export const isRateLimited = (error: { readonly code?: string; readonly statusCode?: number }): boolean =>
  error.code === RATE_LIMITED && error.statusCode === 429
