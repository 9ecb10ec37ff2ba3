import { Effect } from "effect"
import type { FastifyInstance } from "fastify"
import type { History, HistoryPage } from "../History.ts"
import { answer } from "./runner.ts"
import { errorResponse, historyQuery, historyResponse, sessionIdParams } from "./schemas.ts"
import { eventView } from "./views.ts"

interface HistoryQuerystring {
  order?: "asc" | "desc"
  after_version?: string
  before_version?: string
  limit?: string
}

const DEFAULT_LIMIT = 100

const toNumber = (text: string | undefined) => (text === undefined ? undefined : Number(text))

const nextView = (next: HistoryPage["next"]) =>
  next === null ? null : "afterVersion" in next ? { after_version: next.afterVersion } : { before_version: next.beforeVersion }

/** GET /v1/sessions/:id/events: a session's history, from Redis while it lives and from the audit after. */
export const historyRoutes = (history: History["Service"]) => async (app: FastifyInstance) => {
  app.get<{ Params: { id: string }; Querystring: HistoryQuerystring }>("/v1/sessions/:id/events", {
    config: { action: "read" },
    schema: {
      tags: ["sessions"],
      summary: "The session's events, a page at a time, oldest or newest first",
      params: sessionIdParams,
      querystring: historyQuery,
      response: {
        200: historyResponse,
        400: errorResponse,
        401: errorResponse,
        403: errorResponse,
        404: errorResponse,
        429: errorResponse,
        503: errorResponse
      }
    }
  }, (request, reply) => {
    const query = request.query
    return answer(reply, 200, history.events(request.params.id, {
      order: query.order ?? "asc",
      afterVersion: toNumber(query.after_version),
      beforeVersion: toNumber(query.before_version),
      limit: toNumber(query.limit) ?? DEFAULT_LIMIT
    }).pipe(Effect.map((page) => ({
      session_id: request.params.id,
      archived: page.archived,
      events: page.events.map(eventView),
      next: nextView(page.next)
    }))))
  })
}
