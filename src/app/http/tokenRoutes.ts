import { Effect } from "effect"
import type { FastifyInstance } from "fastify"
import { InvalidCommand } from "../../domain/index.ts"
import { InvalidGrant, signSessionToken, type TokenRole } from "../auth/tokens.ts"
import type { CommandHandler } from "../CommandHandler.ts"
import type { History } from "../History.ts"
import { answer, sendFailure } from "./runner.ts"
import { errorResponse, sessionIdParams, tokenBody, tokenResponse } from "./schemas.ts"
import { currentOrArchived } from "./sessionRoutes.ts"

interface TokenBody {
  role: TokenRole
  participant_id?: string
  ttl_seconds?: number
}

/**
 * `POST /v1/sessions/:id/tokens` (API keys only): a session token for a browser or game client. The
 * session must exist (live or archived) and a participant token's participant must be one of its own.
 */
export const tokenRoutes = (handler: CommandHandler["Service"], history: History["Service"], tokenSecret: string) =>
async (app: FastifyInstance) => {
  app.post<{ Params: { id: string }; Body: TokenBody }>("/v1/sessions/:id/tokens", {
    config: { action: "mint" },
    schema: {
      tags: ["access"],
      summary: "Mint a session token (API key only)",
      params: sessionIdParams,
      body: tokenBody,
      response: { 201: tokenResponse, 400: errorResponse, 401: errorResponse, 403: errorResponse, 404: errorResponse, 429: errorResponse, 501: errorResponse, 503: errorResponse }
    }
  }, (request, reply) => {
    if (tokenSecret === "") {
      return sendFailure(reply, { status: 501, code: "TOKENS_DISABLED", message: "session tokens need TOKEN_SECRET to be set" })
    }
    const { id } = request.params
    const { role, participant_id: participantId, ttl_seconds: ttlSeconds } = request.body
    return answer(reply, 201, Effect.gen(function*() {
      const { state } = yield* currentOrArchived(handler, history, id)
      if (participantId !== undefined && !state.participants.some((p) => p.participantId === participantId)) {
        return yield* new InvalidCommand({ issues: [{ field: "participant_id", message: "is not a participant of this session" }] })
      }
      const signed = yield* Effect.tryPromise({
        try: () => signSessionToken(tokenSecret, { sessionId: id, role, participantId, ttlSeconds }),
        catch: (error) => new InvalidCommand({ issues: error instanceof InvalidGrant ? error.issues : [{ field: "body", message: String(error) }] })
      })
      return { token: signed.token, expires_at: signed.expiresAt }
    }))
  })
}
