import { Effect, Result } from "effect"
import type { FastifyReply } from "fastify"
import { type HttpFailure, type RequestError, toHttpFailure } from "./errorMapping.ts"

declare module "fastify" {
  interface FastifyInstance {
    /** Runs an effect on the app's runtime, so that its layers (the logger, the configuration) reach it. */
    readonly runEffect: <A, E>(effect: Effect.Effect<A, E>) => Promise<A>
  }
}

export const sendFailure = (reply: FastifyReply, failure: HttpFailure) =>
  reply.status(failure.status).send({
    error: { code: failure.code, message: failure.message, ...(failure.details === undefined ? {} : { details: failure.details }) }
  })

/** A session's answer: its body, and its version for the ETag (null once the session is gone). */
export interface SessionAnswer {
  readonly body: Record<string, unknown>
  readonly version: number | null
}

/**
 * Runs a session route's effect and answers with `{ data }` or the failure's one status and code. The
 * session version doubles as the ETag, so a client can pin it with If-Match on its next command.
 */
export const answerSession = async (
  reply: FastifyReply,
  status: number,
  program: Effect.Effect<SessionAnswer, RequestError>
) => {
  const result = await reply.server.runEffect(Effect.result(program))
  if (Result.isFailure(result)) return sendFailure(reply, toHttpFailure(result.failure))
  const { body, version } = result.success
  if (version !== null) void reply.header("etag", `"${version}"`)
  return status === 204 ? reply.status(204).send() : reply.status(status).send({ data: body })
}

/** Runs a route's effect whose answer is not a session's (no ETag). */
export const answer = (reply: FastifyReply, status: number, program: Effect.Effect<Record<string, unknown>, RequestError>) =>
  answerSession(reply, status, Effect.map(program, (body) => ({ body, version: null })))
