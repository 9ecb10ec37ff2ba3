/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * /demo/countdown: one global clock. Whoever created it is the host (start, pause, resume, finish),
 * remembered in this browser's session storage with the host's token; everyone else with the link
 * watches the same clock.
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

const hostKey = (sessionId: string) => `synckairos-demo-host:${sessionId}`

const statusText = (state: SessionState, host: boolean): string => {
  switch (state.status) {
    case "pending":
      return host ? "Ready: start when everyone is here" : "Waiting for the host to start"
    case "running":
      return "Running"
    case "paused":
      return "Paused by the host"
    case "expired":
      return "Time is up"
    case "completed":
      return "Finished by the host"
    default:
      return `Countdown ${state.status}`
  }
}

const draw = (state: SessionState, playing: Playing, host: boolean) => {
  const clock = $(".clock")
  const participant = state.participants[0]
  const remaining = Math.round(playing.client.remainingMs(state))
  setData(clock, "participantId", participant?.participant_id ?? "")
  setData(clock, "remainingMs", String(remaining))
  setData(clock, "active", String(state.status === "running"))
  setData(clock, "low", String(remaining < 10_000))
  setText($(".time"), formatClock(remaining))
  $(".progress-fill").style.transform = `scaleX(${state.total_time_ms === 0 ? 0 : remaining / state.total_time_ms})`
  setText($(".status-text"), statusText(state, host))
  const shown: Record<string, boolean> = {
    start: state.status === "pending",
    pause: state.status === "running",
    resume: state.status === "paused",
    finish: state.status === "running" || state.status === "paused"
  }
  for (const [name, visible] of Object.entries(shown)) {
    const button = $(`.${name}`)
    if (button.hidden === visible) button.hidden = !visible
  }
}

const begin = (game: Game, host: boolean) => {
  $(".stage").hidden = false
  $(".host-controls").hidden = !host
  root.dataset["role"] = host ? "host" : "viewer"
  showShareLink(`${location.origin}/demo/countdown?session=${game.session_id}`)
  const playing = play(game, (state) => draw(state, playing, host))
  const on = (name: string, command: (sessionId: string) => Promise<unknown>) => {
    $(`.${name}`).onclick = () => {
      const state = playing.state()
      if (state !== undefined) act(() => command(state.session_id))
    }
  }
  const { client } = playing
  on("start", (id) => client.start(id))
  on("pause", (id) => client.pause(id))
  on("resume", (id) => client.resume(id))
  on("finish", (id) => client.complete(id))
}

const main = async () => {
  const game = await gameFromLink("countdown")
  if (game !== undefined && game !== "refused") {
    // A host who reloads keeps the controls (and the host token) this browser was given.
    const hostToken = sessionStorage.getItem(hostKey(game.session_id))
    return hostToken === null ? begin(game, false) : begin({ ...game, role: "host", token: hostToken === "" ? null : hostToken }, true)
  }
  offerSetup((button) => ({ kind: "countdown", minutes: Number(button.dataset["minutes"]) }), (created) => {
    sessionStorage.setItem(hostKey(created.session_id), created.token ?? "")
    begin(created, true)
  })
}

void main()
