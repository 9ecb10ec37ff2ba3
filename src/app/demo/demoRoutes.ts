import { randomUUID } from "node:crypto"
import { Effect } from "effect"
import type { FastifyInstance } from "fastify"
import type { CreateSessionInput } from "../../domain/index.ts"
import { signSessionToken, TOKEN_TTL_SECONDS } from "../auth/tokens.ts"
import type { CommandHandler } from "../CommandHandler.ts"
import { answer } from "../http/runner.ts"
import { errorResponse, sessionIdParams } from "../http/schemas.ts"
import { loadDemoAssets } from "./assets.ts"
import { type DemoKind, demoPage, DEMO_KINDS, demoIndex } from "./pages.ts"

/** A session token for one role in one session; absent when the service runs open (no TOKEN_SECRET). */
export type MintToken = (grant: { readonly sessionId: string; readonly role: "host" | "observer" }) => Promise<string>

/** Tokens signed with the service's secret, for a day: a demo game outlives the default hour. */
export const demoTokens = (secret: string): MintToken => async ({ sessionId, role }) =>
  (await signSessionToken(secret, { sessionId, role, ttlSeconds: TOKEN_TTL_SECONDS.max })).token

/** Games one address may create a minute: the create route needs no credential, even with access control on. */
const GAMES_PER_MINUTE = 20

export interface DemoDeps {
  readonly handler: CommandHandler["Service"]
  readonly mintToken?: MintToken | undefined
}

interface NewGame {
  kind: DemoKind
  minutes: number
  increment_seconds?: number
}

const newGameBody = {
  type: "object",
  required: ["kind", "minutes"],
  additionalProperties: false,
  properties: {
    kind: { type: "string", enum: DEMO_KINDS },
    minutes: { type: "integer", minimum: 1, maximum: 180 },
    increment_seconds: { type: "integer", minimum: 0, maximum: 60, description: "chess only" }
  }
} as const

const gameResponse = {
  type: "object",
  required: ["data"],
  properties: {
    data: {
      type: "object",
      required: ["session_id", "kind", "role", "token"],
      properties: {
        session_id: { type: "string" },
        kind: { type: "string" },
        role: { type: "string", enum: ["host", "observer"] },
        token: { type: ["string", "null"], description: "A session token for this role; null when the service runs without access control." }
      }
    }
  }
} as const

const sessionInput = (game: NewGame): CreateSessionInput => {
  const totalTimeMs = game.minutes * 60_000
  const metadata = { demo: game.kind }
  const sessionId = randomUUID()
  return game.kind === "chess"
    ? {
      sessionId,
      syncMode: "per_participant",
      totalTimeMs,
      incrementMs: (game.increment_seconds ?? 0) * 1000,
      participants: [{ participantId: randomUUID() }, { participantId: randomUUID() }],
      metadata
    }
    : { sessionId, syncMode: "global", totalTimeMs, participants: [{ participantId: randomUUID() }], metadata }
}

/**
 * `/demo/`: the chess clock and the countdown, built from the SDK, and the small server side they
 * need: creating a game and handing each page a session token for its role (a chess page is the
 * clock both players share, so it is the game's host; a countdown's viewers observe). The browser
 * never sees an API key.
 */
export const demoRoutes = (deps: DemoDeps) => async (app: FastifyInstance) => {
  const tokenFor = (sessionId: string, role: "host" | "observer") =>
    deps.mintToken === undefined ? Promise.resolve(null) : deps.mintToken({ sessionId, role })
  const game = (sessionId: string, kind: string, role: "host" | "observer") =>
    Effect.promise(() => tokenFor(sessionId, role)).pipe(Effect.map((token) => ({ session_id: sessionId, kind, role, token })))

  app.get("/demo", { schema: { hide: true } }, (_request, reply) => reply.type("text/html; charset=utf-8").send(demoIndex()))
  for (const kind of DEMO_KINDS) {
    app.get(`/demo/${kind}`, { schema: { hide: true } }, (_request, reply) => reply.type("text/html; charset=utf-8").send(demoPage(kind)))
  }
  // Loaded (from source: bundled) at the first request, so an instance nobody opens a demo on pays nothing.
  app.get<{ Params: { name: string } }>("/demo/assets/:name", { schema: { hide: true } }, async (request, reply) => {
    const text = (await loadDemoAssets()).get(request.params.name)
    if (text === undefined) return reply.status(404).send({ error: { code: "NOT_FOUND", message: `no demo asset ${request.params.name}` } })
    return reply
      .type(request.params.name.endsWith(".css") ? "text/css; charset=utf-8" : "text/javascript; charset=utf-8")
      .header("cache-control", "no-cache")
      .send(text)
  })

  app.post<{ Body: NewGame }>("/demo/api/games", {
    config: { rateLimit: { max: GAMES_PER_MINUTE, timeWindow: 60_000, allowList: () => false, keyGenerator: (request) => `demo:${request.ip}` } },
    schema: { tags: ["demo"], summary: "Create a demo game (its host's token included)", body: newGameBody, response: { 201: gameResponse, 400: errorResponse, 429: errorResponse, 503: errorResponse } }
  }, (request, reply) => {
    const input = sessionInput(request.body)
    return answer(reply, 201, deps.handler.execute(input.sessionId, { type: "CreateSession", input }).pipe(
      Effect.flatMap(() => game(input.sessionId, request.body.kind, "host"))
    ))
  })

  app.get<{ Params: { id: string } }>("/demo/api/games/:id", {
    schema: { tags: ["demo"], summary: "Join a demo game: its kind and a token for a page of it", params: sessionIdParams, response: { 200: gameResponse, 400: errorResponse, 404: errorResponse, 503: errorResponse } }
  }, (request, reply) =>
    answer(reply, 200, deps.handler.read(request.params.id).pipe(
      Effect.flatMap(({ state }) => {
        const kind = String(state.config.metadata?.["demo"] ?? "")
        return game(request.params.id, kind, kind === "chess" ? "host" : "observer")
      })
    )))
}
