import swagger from "@fastify/swagger"
import swaggerUi from "@fastify/swagger-ui"
import { Effect, type ManagedRuntime } from "effect"
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, LogController } from "fastify"
import { RedisClient } from "../../infra/RedisClient.ts"
import { AuditMonitor } from "../../infra/audit/AuditMonitor.ts"
import { ProjectorHealth } from "../../infra/audit/ProjectorHealth.ts"
import { AuditRepository } from "../../infra/pg/AuditRepository.ts"
import { ServerClock } from "../../infra/ServerClock.ts"
import { AppConfig, type AppSettings } from "../AppConfig.ts"
import { accessControl, isRateLimited } from "../auth/accessControl.ts"
import { makeAuthenticator } from "../auth/credentials.ts"
import { auditReadiness } from "../auditReadiness.ts"
import { CommandHandler } from "../CommandHandler.ts"
import { demoRoutes, demoTokens } from "../demo/demoRoutes.ts"
import { History } from "../History.ts"
import type { ApiServices } from "../layers.ts"
import { ProcessLogger } from "../logger.ts"
import { Metrics, metricsRoutes } from "../metrics.ts"
import { SERVER_VERSION } from "../version.ts"
import { FanOut } from "../ws/FanOut.ts"
import { websocketGateway } from "../ws/gateway.ts"
import { fromSchemaErrors, validationFailure } from "./errorMapping.ts"
import { historyRoutes } from "./historyRoutes.ts"
import { sendFailure } from "./runner.ts"
import { sessionRoutes } from "./sessionRoutes.ts"
import { systemRoutes } from "./systemRoutes.ts"
import { tokenRoutes } from "./tokenRoutes.ts"

/** A URL as logged: the `token` query parameter (a credential) is masked. */
const withoutToken = (url: string): string => url.replace(/([?&]token=)[^&]*/g, "$1[redacted]")

/**
 * What an instance serves over HTTP: the whole API, or (a worker) only what operations need: health,
 * readiness, time and metrics.
 */
export type HttpSurface = "api" | "operations"

/**
 * The HTTP edge. Handlers run their effects on services resolved once from the runtime; closing the
 * app disposes the runtime, which closes Redis.
 */
export const buildHttpApp = async (
  runtime: ManagedRuntime.ManagedRuntime<ApiServices, unknown>,
  settings: Pick<AppSettings, "bodyLimitBytes">,
  surface: HttpSurface = "api"
): Promise<FastifyInstance> => {
  const services = await runtime.runPromise(Effect.all({
    handler: Effect.service(CommandHandler),
    clock: Effect.service(ServerClock),
    redis: Effect.service(RedisClient),
    fanOut: Effect.service(FanOut),
    metrics: Effect.service(Metrics),
    config: Effect.service(AppConfig),
    history: Effect.service(History),
    repository: Effect.service(AuditRepository),
    monitor: Effect.service(AuditMonitor),
    logger: Effect.service(ProcessLogger),
    health: Effect.service(ProjectorHealth),
    context: Effect.context<never>()
  }))

  const { config } = services
  const authenticator = makeAuthenticator(config)

  // The process's logger, so that Fastify's lines have the shape of every other line. Credentials
  // travel in the Authorization header and, for /ws, in the token query parameter: never logged.
  const httpLogger: FastifyBaseLogger = services.logger.child({ component: "http" }, {
    redact: ["req.headers.authorization"],
    serializers: { req: (request: { method: string; url: string; id: string }) => ({ method: request.method, url: withoutToken(request.url), reqId: request.id }) }
  })
  const app = Fastify({
    bodyLimit: settings.bodyLimitBytes,
    loggerInstance: httpLogger,
    // A line per request would cost more than the request itself on the hot path.
    logController: new LogController({ disableRequestLogging: true }),
    // Reject what the schema does not name instead of silently dropping it, and never coerce types.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: true, useDefaults: false } }
  })

  app.decorate("runEffect", Effect.runPromiseWith(services.context))

  // Commands without a body may still send Content-Type: application/json.
  app.addContentTypeParser("application/json", { parseAs: "string" }, (_request, body, done) => {
    const text = String(body)
    if (text.trim() === "") return done(null, null)
    try {
      done(null, JSON.parse(text))
    } catch {
      done(Object.assign(new Error("the body is not valid JSON"), { statusCode: 400, code: "INVALID_JSON" }), undefined)
    }
  })

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (isRateLimited(error)) return sendFailure(reply, { status: 429, code: error.code, message: error.message })
    if (error.validation !== undefined) {
      return sendFailure(reply, validationFailure(400, fromSchemaErrors(error.validation, error.validationContext)))
    }
    const status = error.statusCode ?? 500
    if (status >= 400 && status < 500) {
      return sendFailure(reply, validationFailure(status, [{ field: "body", message: error.message }], error.message))
    }
    request.log.error({ err: error }, "unhandled error")
    return sendFailure(reply, { status: 500, code: "INTERNAL_ERROR", message: "internal error" })
  })

  app.setNotFoundHandler((request, reply) =>
    sendFailure(reply, { status: 404, code: "NOT_FOUND", message: `no route ${request.method} ${request.url}` }))

  if (authenticator.enabled) app.log.info("access control on: /v1 and /ws need an API key or a session token")
  else app.log.warn("access control off: API_KEYS is not set, so anyone who can reach this instance may do anything")
  // First, so that its hooks and rate limit cover every route registered after it.
  await app.register(accessControl, {
    authenticator,
    redis: services.redis.connection,
    keyPrefix: config.keyPrefix,
    rateLimitTokenRps: config.rateLimitTokenRps,
    rateLimitKeyRps: config.rateLimitKeyRps,
    corsOrigins: config.corsOrigins
  })

  if (surface === "api") {
    await app.register(swagger, {
      openapi: {
        info: {
          title: "SyncKairos",
          version: SERVER_VERSION,
          description: "Server-authoritative synchronized timers. Every time field is computed as of server_time_ms."
        },
        components: {
          securitySchemes: {
            bearer: {
              type: "http",
              scheme: "bearer",
              description: "An API key (servers) or a session token (a JWT for one session and one role); needed when the service runs with API_KEYS."
            }
          }
        },
        security: [{ bearer: [] }]
      }
    })
    await app.register(swaggerUi, { routePrefix: "/docs" })
    await app.register(sessionRoutes(services.handler, services.history, services.config))
    await app.register(historyRoutes(services.history))
    await app.register(tokenRoutes(services.handler, services.history, config.tokenSecret))
  }
  await app.register(systemRoutes({
    ...services,
    audit: auditReadiness({ ...services, lagAlarmMs: services.config.auditLagAlarmMs }),
    auth: authenticator.enabled ? "on" : "off"
  }))
  await app.register(metricsRoutes(services.metrics))
  if (surface === "api") {
    await app.register(websocketGateway(services, services.config))
    await app.register(demoRoutes({ handler: services.handler, mintToken: authenticator.enabled ? demoTokens(config.tokenSecret) : undefined }))
  }
  // On close, answers still in flight end their keep-alive connections, so closing waits only for them.
  let closing = false
  app.addHook("preClose", async () => {
    closing = true
  })
  // A callback hook: an async one costs a promise and a microtask on every answer.
  app.addHook("onSend", (_request, reply, payload, done) => {
    if (closing) void reply.header("connection", "close")
    done(null, payload)
  })
  app.addHook("onClose", () => runtime.dispose())
  return app
}
