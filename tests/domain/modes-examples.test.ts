/**
 * Executes docs/modes.md, the sync modes' documentation, so that it cannot drift from the code:
 *   - every ```json create request followed by a table is replayed: each row's command runs at `t`,
 *     and every cell (events, turn, clocks, deadline, status, who is out) must read exactly as written;
 *   - the timeout table's "default for" column must match the defaults of `toSessionConfig`;
 *   - the "cap is N h" sentence must match the count_up default;
 *   - and no line with a digit may escape these checks.
 */
import { readFileSync } from "node:fs"
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import {
  type Command,
  countUpCap,
  type CreateSessionInput,
  decide,
  evolve,
  expiresAtOf,
  remainingOf,
  type SessionEvent,
  type SessionState,
  SYNC_MODES,
  type SyncMode,
  timeUsedOf,
  TIMEOUT_ACTIONS,
  toSessionConfig
} from "../../src/domain/index.ts"
import { at, SID, T0 } from "./decider.spec.ts"

const MODES = new URL("../../docs/modes.md", import.meta.url)
/** The whole page is checked: its line numbers are the ones failures name. */
const lines = readFileSync(MODES, "utf8").split("\n")
/** Line numbers (0-based) some check below reads; every line with a digit must be among them. */
const checked = new Set<number>()

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

interface Example {
  readonly title: string
  readonly line: number
  readonly input: CreateSessionInput
  readonly header: ReadonlyArray<string>
  readonly rows: ReadonlyArray<{ readonly line: number; readonly cells: ReadonlyArray<string> }>
}

const cellsOf = (line: string): Array<string> => line.trim().replace(/^\|/, "").replace(/\|$/, "").split("|").map((c) => c.trim())

/** Reads a table starting at `start`; returns its header, body rows and the line after it. */
const tableAt = (start: number) => {
  const header = cellsOf(lines[start] ?? "")
  const rows: Array<{ line: number; cells: Array<string> }> = []
  let i = start + 2 // skip the | --- | separator
  for (; i < lines.length && (lines[i] ?? "").trim().startsWith("|"); i++) rows.push({ line: i, cells: cellsOf(lines[i] ?? "") })
  for (let j = start; j < i; j++) checked.add(j)
  return { header, rows, end: i }
}

/** The create request as the HTTP API spells it (snake_case), turned into the domain's input. */
const toInput = (json: Record<string, unknown>): CreateSessionInput => {
  const participants = json["participants"] as Array<Record<string, unknown>>
  return {
    sessionId: SID,
    syncMode: json["sync_mode"] as SyncMode,
    totalTimeMs: json["total_time_ms"] as number,
    timePerCycleMs: json["time_per_cycle_ms"] as number | undefined,
    incrementMs: json["increment_ms"] as number | undefined,
    maxTimeMs: json["max_time_ms"] as number | undefined,
    actionOnTimeout: json["action_on_timeout"] as CreateSessionInput["actionOnTimeout"],
    autoAdvance: json["auto_advance"] as boolean | undefined,
    participants: participants.map((p) => ({
      participantId: p["participant_id"] as string,
      participantIndex: p["participant_index"] as number | undefined,
      totalTimeMs: p["total_time_ms"] as number | undefined,
      groupId: p["group_id"] as string | undefined
    }))
  }
}

const examples: Array<Example> = []
let timeoutTable: ReturnType<typeof tableAt> | undefined
{
  let title = ""
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? ""
    if (line.startsWith("#")) title = line.replace(/^#+\s*/, "")
    if (line.trim() === "```json") {
      const start = i
      let end = i + 1
      while (end < lines.length && lines[end]?.trim() !== "```") end++
      const json = JSON.parse(lines.slice(start + 1, end).join("\n")) as Record<string, unknown>
      for (let j = start; j <= end; j++) checked.add(j)
      let next = end + 1
      while (next < lines.length && (lines[next] ?? "").trim() === "") next++
      if (!(lines[next] ?? "").trim().startsWith("|")) throw new Error(`no table after the request on line ${start + 1}`)
      const table = tableAt(next)
      examples.push({ title, line: start + 1, input: toInput(json), header: table.header, rows: table.rows })
      i = table.end
    } else if (line.trim().startsWith("| action")) {
      timeoutTable = tableAt(i)
      i = timeoutTable.end
    }
  }
}

/** The sentence stating count_up's default cap. */
const capLine = lines.findIndex((l) => /the cap is \d+ h\b/.test(l))
if (capLine >= 0) checked.add(capLine)

// ---------------------------------------------------------------------------------------------
// Rendering what the domain says, in the words of docs/modes.md
// ---------------------------------------------------------------------------------------------

const seconds = (ms: number): string => `${ms / 1_000} s`

const commandOf = (text: string): Command | null => {
  const to = /^switch to (\S+)$/.exec(text)
  if (to !== null) return { type: "SwitchCycle", nextParticipantId: to[1] }
  const simple: Record<string, Command | null> = {
    "—": null,
    start: { type: "StartSession" },
    switch: { type: "SwitchCycle" },
    pause: { type: "PauseSession" },
    resume: { type: "ResumeSession" },
    complete: { type: "CompleteSession" },
    cancel: { type: "CancelSession" },
    delete: { type: "DeleteSession" }
  }
  if (!(text in simple)) throw new Error(`unknown command "${text}"`)
  return simple[text] ?? null
}

/** `TYPE` when the event happened at the row's instant, `TYPE at N s` otherwise; `—` for none. */
const renderEvents = (events: ReadonlyArray<SessionEvent>, now: number): string =>
  events.length === 0 ? "—" : events.map((e) => (e.at === now ? e.type : `${e.type} at ${seconds(e.at - T0)}`)).join(", ")

/** One cell as the domain sees it: the column names what to read. */
const render = (state: SessionState, column: string, now: number): string => {
  const participants = state.participants
  const same = (values: Array<number>, what: string): number => {
    expect(new Set(values).size, `${what} must be one shared clock`).toBe(1)
    return values[0] ?? Number.NaN
  }
  switch (column) {
    case "turn":
      return state.activeParticipantId ?? "—"
    case "status":
      return state.status
    case "deadline": {
      const d = expiresAtOf(state)
      return d === null ? "—" : seconds(d - T0)
    }
    case "out": {
      const out = participants.filter((p) => p.hasExpired).map((p) => p.participantId)
      return out.length === 0 ? "—" : out.join(", ")
    }
    case "elapsed": {
      const remaining = same(participants.map((p) => remainingOf(state, p, now)), "elapsed")
      const elapsed = countUpCap(state.config) - remaining
      // Counting up is the same as the time everyone used.
      expect(participants.reduce((sum, p) => sum + timeUsedOf(state, p, now), 0)).toBe(elapsed)
      return seconds(elapsed)
    }
  }
  const match = /^(\S+) (left|used|turns)$/.exec(column)
  if (match === null) throw new Error(`unknown column "${column}"`)
  const [, who = "", what] = match
  const one = participants.find((p) => p.participantId === who)
  if (what === "left") {
    const holders = who === "session" ? participants : one !== undefined ? [one] : participants.filter((p) => p.groupId === who)
    if (holders.length === 0) throw new Error(`no participant or group "${who}"`)
    return seconds(same(holders.map((p) => remainingOf(state, p, now)), `${who} left`))
  }
  if (one === undefined) throw new Error(`no participant "${who}"`)
  return what === "used" ? seconds(timeUsedOf(state, one, now)) : String(one.cycleCount)
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

describe("docs/modes.md: sync modes", () => {
  it("has an example for every mode and the timeout table", () => {
    expect(new Set(examples.map((e) => e.input.syncMode))).toEqual(new Set(SYNC_MODES))
    expect(timeoutTable).toBeDefined()
  })

  it.each(examples.map((e) => [`${e.title} (line ${e.line})`, e] as const))("%s", (_name, example) => {
    expect(example.header.slice(0, 3)).toEqual(["t", "command", "events"])
    let state: SessionState | null = null
    const create = decide(null, { type: "CreateSession", input: example.input }, SID, at(0))
    if (Result.isFailure(create)) throw new Error(`the request is rejected: ${create.failure.message}`)
    for (const event of create.success) state = evolve(state, event)

    for (const { line, cells } of example.rows) {
      const [tCell = "", commandCell = "", eventsCell = ""] = cells
      const t = /^(\d+) s$/.exec(tCell)
      if (t === null) throw new Error(`line ${line + 1}: bad t "${tCell}"`)
      const now = at(Number(t[1]) * 1_000)
      const command = commandOf(commandCell)
      let events: ReadonlyArray<SessionEvent> = []
      if (command !== null) {
        const result = decide(state, command, SID, now)
        if (Result.isFailure(result)) throw new Error(`line ${line + 1}: ${commandCell} is refused: ${result.failure.message}`)
        events = result.success
        for (const event of events) state = evolve(state, event)
      }
      if (state === null) throw new Error(`line ${line + 1}: the session is gone`)
      const current: SessionState = state
      const actual = [renderEvents(events, now), ...example.header.slice(3).map((column) => render(current, column, now))]
      expect(actual, `docs/modes.md line ${line + 1}`).toEqual([eventsCell, ...cells.slice(3)])
    }
  })

  it("the timeout table names each mode's default action", () => {
    const defaults = new Map<string, Array<string>>()
    for (const { cells } of timeoutTable?.rows ?? []) {
      const action = /^`(\w+)`$/.exec(cells[0] ?? "")?.[1] ?? ""
      const modes = (cells[2] ?? "").split(",").map((m) => m.trim().replace(/`/g, "")).filter((m) => m !== "—")
      defaults.set(action, modes)
    }
    expect([...defaults.keys()].sort()).toEqual([...TIMEOUT_ACTIONS].sort())
    for (const mode of SYNC_MODES) {
      const checkedConfig = toSessionConfig({
        sessionId: SID,
        syncMode: mode,
        totalTimeMs: 60_000,
        timePerCycleMs: mode === "per_cycle" ? 10_000 : undefined,
        participants: [{ participantId: "A", groupId: "g" }]
      })
      if (!("config" in checkedConfig)) throw new Error(`rejected ${mode}`)
      const listedUnder = [...defaults].filter(([, modes]) => modes.includes(mode)).map(([action]) => action)
      expect(listedUnder, mode).toEqual([checkedConfig.config.actionOnTimeout])
    }
  })

  it("states the count_up default cap", () => {
    expect(capLine).toBeGreaterThanOrEqual(0)
    const hours = Number(/the cap is (\d+) h\b/.exec(lines[capLine] ?? "")?.[1])
    const config = toSessionConfig({ sessionId: SID, syncMode: "count_up", totalTimeMs: 60_000, participants: [{ participantId: "A" }] })
    if (!("config" in config)) throw new Error("rejected")
    expect(hours * 3_600_000).toBe(countUpCap(config.config))
  })

  it("has no number that no check reads", () => {
    const unchecked = lines
      .map((line, i) => ({ line: i + 1, text: line }))
      .filter(({ line, text }) => /\d/.test(text) && !checked.has(line - 1))
    expect(unchecked).toEqual([])
  })
})
