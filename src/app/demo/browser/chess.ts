/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * /demo/chess: two clocks of a per_participant session. The page is the clock both players share
 * (on one device, or one each through the share link): the first tap or space bar starts White's
 * clock, and a tap on the running clock or the space bar ends that player's move.
 */
import type { SessionState } from "../../../../client/src/index.ts"
import {
  $,
  act,
  formatClock,
  type Game,
  gameFromLink,
  offerSetup,
  play,
  type Playing,
  root,
  setData,
  setText,
  showShareLink
} from "./common.ts"

const SEATS = ["White", "Black"] as const

const clocks = () => [...root.querySelectorAll<HTMLElement>(".clock")]
  .sort((a, b) => Number(a.dataset["seat"]) - Number(b.dataset["seat"]))

const statusText = (state: SessionState): string => {
  const seatOf = (id: string | null | undefined) => SEATS[state.participants.findIndex((p) => p.participant_id === id)] ?? ""
  switch (state.status) {
    case "pending":
      return "Tap a clock or press space to start White's clock"
    case "running":
      return `${seatOf(state.active_participant_id)} to move`
    case "paused":
      return "Paused"
    case "expired": {
      const flagged = state.participants.find((p) => p.has_expired)
      return flagged === undefined ? "Time is up" : `${seatOf(flagged.participant_id)} ran out of time`
    }
    default:
      return `Game ${state.status}`
  }
}

const draw = (state: SessionState, playing: Playing) => {
  clocks().forEach((clock, seat) => {
    const participant = state.participants[seat]
    if (participant === undefined) return
    const remaining = Math.round(playing.client.remainingMs(state, participant.participant_id))
    setData(clock, "participantId", participant.participant_id)
    setData(clock, "remainingMs", String(remaining))
    setData(clock, "active", String(state.status === "running" && state.active_participant_id === participant.participant_id))
    setData(clock, "flagged", String(participant.has_expired))
    setData(clock, "low", String(remaining < 10_000))
    setText(clock.querySelector(".time")!, formatClock(remaining))
    setText(clock.querySelector(".moves")!, `${participant.cycle_count} ${participant.cycle_count === 1 ? "move" : "moves"}`)
    clock.setAttribute("aria-label", `${SEATS[seat]}: ${formatClock(remaining)}`)
  })
  const increment = state.increment_ms > 0 ? ` + ${state.increment_ms / 1000} s per move` : ""
  setText($(".control"), `${state.total_time_ms / 60_000} min${increment}`)
  setText($(".status-text"), statusText(state))
  const pause = $<HTMLButtonElement>(".pause")
  setText(pause, state.status === "paused" ? "Resume" : "Pause")
  pause.disabled = state.status !== "running" && state.status !== "paused"
}

/** The one action of a chess clock: start the game, or end the running clock's move. */
const press = (playing: Playing, seat?: number) => {
  const state = playing.state()
  if (state === undefined) return
  const { client } = playing
  if (state.status === "pending") return act(() => client.start(state.session_id, { expectedVersion: state.version }))
  if (state.status !== "running") return
  const mover = state.participants.findIndex((p) => p.participant_id === state.active_participant_id)
  if (seat !== undefined && seat !== mover) return
  // Pinned to the version seen, so a double tap cannot end the opponent's move too.
  act(() => client.switchTurn(state.session_id, { expectedVersion: state.version }))
}

const begin = (game: Game) => {
  $(".board").hidden = false
  showShareLink(`${location.origin}/demo/chess?session=${game.session_id}`)
  const playing = play(game, (state) => draw(state, playing))
  clocks().forEach((clock, seat) => clock.addEventListener("pointerdown", (event) => {
    event.preventDefault()
    press(playing, seat)
  }))
  document.addEventListener("keydown", (event) => {
    if (event.code !== "Space" || event.repeat) return
    event.preventDefault()
    press(playing)
  })
  $(".pause").onclick = () => {
    // Focus left on the button would let the space bar press it instead of ending a move.
    $(".pause").blur()
    const state = playing.state()
    if (state?.status === "running") act(() => playing.client.pause(state.session_id))
    else if (state?.status === "paused") act(() => playing.client.resume(state.session_id))
  }
}

const main = async () => {
  const game = await gameFromLink("chess")
  if (game !== undefined && game !== "refused") return begin(game)
  offerSetup(
    (button) => ({ kind: "chess", minutes: Number(button.dataset["minutes"]), increment_seconds: Number(button.dataset["increment"]) }),
    begin
  )
}

void main()
