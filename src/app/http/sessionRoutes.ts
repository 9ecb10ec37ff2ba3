import { Effect } from "effect"
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify"
import type { Command, CreateSessionInput, SessionState, SyncMode, TimeoutAction } from "../../domain/index.ts"
import { type Action, actingParticipantOf } from "../auth/access.ts"
import { credentialOf } from "../auth/accessControl.ts"
import type { CommandError, CommandHandler, Outcome } from "../CommandHandler.ts"
import type { History } from "../History.ts"
import { validationFailure } from "./errorMapping.ts"
import { metadataIssue } from "./metadataLimit.ts"
import { requestOptions } from "./requestOptions.ts"
import { answerSession, type SessionAnswer, sendFailure } from "./runner.ts"
import {
  commandBody,
  createSessionBody,
  errorResponse,
  sessionIdParams,
  sessionResponse,
  switchBody,
  switchResponse
} from "./schemas.ts"
import { sessionView, switchView } from "./views.ts"

interface CreateBody {
  session_id: string
  sync_mode: SyncMode
  participants: Array<{ participant_id: string; participant_index?: number; total_time_ms?: number; group_id?: string }>
  total_time_ms: number
  time_per_cycle_ms?: number
  increment_ms?: number
  max_time_ms?: number
  action_on_timeout?: TimeoutAction
  auto_advance?: boolean
  timeout_warnings_ms?: Array<number>
  metadata?: Record<string, unknown>
  expected_version?: number
}

type CommandBody = { next_participant_id?: string; expected_version?: number } | null

const toCreateInput = (body: CreateBody): CreateSessionInput => ({
  sessionId: body.session_id,
  syncMode: body.sync_mode,
  participants: body.participants.map((p) => ({
    participantId: p.participant_id,
    participantIndex: p.participant_index,
    totalTimeMs: p.total_time_ms,
    groupId: p.group_id
  })),
  totalTimeMs: body.total_time_ms,
  timePerCycleMs: body.time_per_cycle_ms,
  incrementMs: body.increment_ms,
  maxTimeMs: body.max_time_ms,
  actionOnTimeout: body.action_on_timeout,
  autoAdvance: body.auto_advance,
  timeoutWarningsMs: body.timeout_warnings_ms,
  metadata: body.metadata
})

const gone: SessionAnswer = { body: {}, version: null }

/** The session as the command left it (its times as of the decision), with the id of its last event. */
const commandAnswer = (view: (state: SessionState, outcome: Outcome) => Record<string, unknown>) => (outcome: Outcome): SessionAnswer => {
  if (outcome.state === null) return gone
  const body = view(outcome.state, outcome)
  body["last_event_id"] = outcome.lastEventId
  return { body, version: outcome.version }
}
const stateAnswer = commandAnswer((state, { serverTimeMs }) => sessionView(state, serverTimeMs))
const switchAnswer = commandAnswer((state, { events, serverTimeMs }) => switchView(state, events, serverTimeMs))

type Execution = Effect.Effect<SessionAnswer, CommandError>

const errors = {
  400: errorResponse,
  401: errorResponse,
  403: errorResponse,
  404: errorResponse,
  409: errorResponse,
  422: errorResponse,
  429: errorResponse,
  503: errorResponse
}

export const sessionRoutes = (
  handler: CommandHandler["Service"],
  history: History["Service"],
  limits: { readonly metadataMaxBytes: number }
) =>
async (app: FastifyInstance) => {
  const command = async (
    request: FastifyRequest,
    reply: FastifyReply,
    sessionId: string,
    cmd: Command,
    body: { expected_version?: number } | null,
    render: (outcome: Outcome) => SessionAnswer,
    status = 200,
    settle: (execution: Execution) => Execution = (execution) => execution
  ) => {
    const parsed = requestOptions(request, body?.expected_version ?? undefined)
    if ("issues" in parsed) return sendFailure(reply, validationFailure(400, parsed.issues))
    return answerSession(reply, status, settle(Effect.map(handler.execute(sessionId, cmd, parsed.options), render)))
  }

  app.post<{ Body: CreateBody }>("/v1/sessions", {
    config: { action: "create" },
    schema: { tags: ["sessions"], summary: "Create a session", body: createSessionBody, response: { 201: sessionResponse, ...errors } }
  }, (request, reply) => {
    const tooBig = metadataIssue(request.body.metadata, limits.metadataMaxBytes)
    if (tooBig !== undefined) return sendFailure(reply, validationFailure(400, [tooBig]))
    return command(request, reply, request.body.session_id, { type: "CreateSession", input: toCreateInput(request.body) }, request.body, stateAnswer, 201)
  })

  const simple: ReadonlyArray<[Action, Command, string]> = [
    ["start", { type: "StartSession" }, "Start the first turn"],
    ["pause", { type: "PauseSession" }, "Pause the running clock"],
    ["resume", { type: "ResumeSession" }, "Resume a paused session"],
    ["complete", { type: "CompleteSession" }, "End the session as completed"],
    ["cancel", { type: "CancelSession" }, "End the session as cancelled"]
  ]
  for (const [verb, cmd, summary] of simple) {
    app.post<{ Params: { id: string }; Body: CommandBody }>(`/v1/sessions/:id/${verb}`, {
      config: { action: verb },
      schema: { tags: ["sessions"], summary, params: sessionIdParams, body: commandBody, response: { 200: sessionResponse, ...errors } }
    }, (request, reply) => command(request, reply, request.params.id, cmd, request.body, stateAnswer))
  }

  app.post<{ Params: { id: string }; Body: CommandBody }>("/v1/sessions/:id/switch", {
    config: { action: "switch" },
    schema: {
      tags: ["sessions"],
      summary: "End the active turn and start the next (with a participant token: only on that participant's own turn)",
      params: sessionIdParams,
      body: switchBody,
      response: { 200: switchResponse, ...errors }
    }
  }, (request, reply) =>
    command(request, reply, request.params.id, {
      type: "SwitchCycle",
      nextParticipantId: request.body?.next_participant_id,
      actingParticipantId: actingParticipantOf(credentialOf(request))
    }, request.body, switchAnswer))

  app.delete<{ Params: { id: string } }>("/v1/sessions/:id", {
    config: { action: "delete" },
    schema: { tags: ["sessions"], summary: "Delete a session", params: sessionIdParams, response: { 204: { type: "null" }, ...errors } }
  }, (request, reply) =>
    // Idempotent, as v2 clients expect: a retry after a lost answer, or a session already gone, is not an error.
    command(request, reply, request.params.id, { type: "DeleteSession" }, null, () => gone, 204, (execution) =>
      execution.pipe(Effect.catchTag("SessionNotFound", () => Effect.succeed(gone)))))

  app.get<{ Params: { id: string } }>("/v1/sessions/:id", {
    config: { action: "read" },
    schema: { tags: ["sessions"], summary: "The session as of now; once it has left Redis, as last audited (archived)", params: sessionIdParams, response: { 200: sessionResponse, ...errors } }
  }, (request, reply) =>
    answerSession(reply, 200, currentOrArchived(handler, history, request.params.id).pipe(
      Effect.map((read) => {
        const body = sessionView(read.state, read.serverTimeMs)
        body["last_event_id"] = read.lastEventId
        if (read.archived) body["archived"] = true
        return { body, version: read.state.version }
      })
    )))
}

/** The session as of now; once gone from Redis, its last audited state, read-only (commands on it answer SESSION_NOT_FOUND). */
export const currentOrArchived = (handler: CommandHandler["Service"], history: History["Service"], sessionId: string) =>
  handler.read(sessionId).pipe(
    Effect.map((read) => ({ ...read, lastEventId: read.lastEventId ?? "", archived: false })),
    Effect.catchTag("SessionNotFound", () => history.archived(sessionId).pipe(Effect.map((read) => ({ ...read, archived: true }))))
  )

