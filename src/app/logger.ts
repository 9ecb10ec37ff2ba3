import { Cause, Context, Effect, Layer, Logger, type LogLevel, References } from "effect"
import { type DestinationStream, type Logger as Pino, type LoggerOptions, pino } from "pino"
import { AppConfig, type AppSettings } from "./AppConfig.ts"

export type LogLevelName = AppSettings["logLevel"]

/**
 * Every line of the process is one JSON object of one shape: `level` as a word (as operators grep
 * for it), `time` in epoch ms, `msg`, `component` (which part of the service wrote it) and fields.
 */
const options = (level: LogLevelName): LoggerOptions => ({
  level,
  base: { pid: process.pid },
  formatters: { level: (label) => ({ level: label }) }
})

const LEVELS: ReadonlyArray<string> = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] satisfies ReadonlyArray<LogLevelName>
const isLevel = (value: string): value is LogLevelName => LEVELS.includes(value)

/** LOG_LEVEL before the configuration is read: what it says when valid, else info (the configuration then refuses it). */
export const bootLogLevel = (value: string | undefined): LogLevelName => value !== undefined && isLevel(value) ? value : "info"

/** The process's one pino logger (on stdout unless told otherwise); everything else writes through children of it. */
export const createProcessLogger = (level: LogLevelName, destination?: DestinationStream): Pino =>
  destination === undefined ? pino(options(level)) : pino(options(level), destination)

/** The process's pino logger as a service: Fastify and anything outside Effect write through its children. */
export class ProcessLogger extends Context.Service<ProcessLogger, Pino>()("synckairos/app/ProcessLogger") {}

const pinoLevelOf: Record<LogLevel.LogLevel, "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent"> = {
  All: "trace",
  Fatal: "fatal",
  Error: "error",
  Warn: "warn",
  Info: "info",
  Debug: "debug",
  Trace: "trace",
  None: "silent"
}

const effectLevelOf: Record<LogLevelName, LogLevel.LogLevel> = {
  fatal: "Fatal",
  error: "Error",
  warn: "Warn",
  info: "Info",
  debug: "Debug",
  trace: "Trace",
  silent: "None"
}

/**
 * `Effect.log*(message, ...rest)` as one pino line: the first part is `msg`, plain objects among
 * the rest are merged as fields, anything else goes to `details`; the fiber's log annotations (such
 * as `component`, "process" when none is set) are fields too, and a failure's cause is `err`.
 */
export const pinoEffectLogger = (root: Pino) =>
  Logger.make(({ cause, fiber, logLevel, message }) => {
    const parts = Array.isArray(message) ? message : [message]
    // A line whose effect names no component is the process's, as the start-up lines are.
    const fields: Record<string, unknown> = { component: "process", ...fiber.getRef(References.CurrentLogAnnotations) }
    const details: Array<unknown> = []
    for (const part of parts.slice(1)) {
      if (part !== null && typeof part === "object" && !Array.isArray(part) && !(part instanceof Error)) Object.assign(fields, part)
      else details.push(part instanceof Error ? part.message : part)
    }
    if (details.length > 0) fields["details"] = details
    if (cause.reasons.length > 0) fields["err"] = Cause.pretty(cause)
    const level = pinoLevelOf[logLevel]
    if (level !== "silent") root[level](fields, String(parts[0] ?? ""))
  })

/**
 * The configuration with the process's logging: what a process reads its configuration on before its
 * services exist (start-up, `npm run migrate`), so that Effect's lines meet the same logger.
 */
export const configuredLogging = (root: Pino) => loggingLayer(root).pipe(Layer.provideMerge(AppConfig.layer))

/**
 * The process's logging: its pino logger (the given one, else one made from LOG_LEVEL) as
 * ProcessLogger, and Effect's own logging written through it at the same minimum level.
 */
export const loggingLayer = (root?: Pino) =>
  Layer.unwrap(Effect.gen(function*() {
    const { logLevel } = yield* AppConfig
    const logger = root ?? createProcessLogger(logLevel)
    logger.level = logLevel
    return Layer.mergeAll(
      Layer.succeed(ProcessLogger, logger),
      Logger.layer([pinoEffectLogger(logger)]),
      Layer.succeed(References.MinimumLogLevel, effectLevelOf[logLevel])
    )
  }))
