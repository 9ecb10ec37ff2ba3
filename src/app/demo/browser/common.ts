/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/** What both demo pages share: the game API of the demo, the page root's attributes, the frame loop. */
import { isUuid, type SessionFeed, type SessionState, SyncKairos, SyncKairosError } from "../../../../client/src/index.ts"

export interface Game {
  readonly session_id: string
  readonly kind: string
  readonly role: "host" | "observer"
  readonly token: string | null
}

/** Every element the pages name is in their HTML: a missing one is a mistake, said at once. */
const required = <T>(element: T | null, selector: string): T => {
  if (element === null) throw new Error(`the page has no ${selector}`)
  return element
}

export const root = required(document.getElementById("app"), "#app")

export const $ = <T extends Element = HTMLElement>(selector: string): T => required(root.querySelector<T>(selector), selector)

export const showMessage = (text: string): void => {
  const message = $(".message")
  message.textContent = text
  message.hidden = false
}

const gameCall = async (path: string, init?: RequestInit): Promise<Game> => {
  const response = await fetch(path, init)
  const body: { data?: Game; error?: { code: string; message: string } } = await response.json()
  if (!response.ok || body.data === undefined) {
    throw new SyncKairosError(body.error?.code ?? "BAD_RESPONSE", body.error?.message ?? `answered ${response.status}`, response.status)
  }
  return body.data
}

const createGame = (options: Record<string, unknown>): Promise<Game> =>
  gameCall("/demo/api/games", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(options) })

const joinGame = (sessionId: string): Promise<Game> => gameCall(`/demo/api/games/${sessionId}`)

/**
 * The game named by `?session=`, or undefined when there is none (the page offers a new one). A
 * malformed or unknown id ends here with a message that says so, never a blank page.
 */
export const gameFromLink = async (kind: string): Promise<Game | undefined | "refused"> => {
  const sessionId = new URLSearchParams(location.search).get("session")
  if (sessionId === null) return undefined
  root.dataset["sessionId"] = sessionId
  const refuse = (text: string, status = "not_found") => {
    root.dataset["status"] = status
    root.dataset["connection"] = "closed"
    setText($(".connection-text"), "not connected")
    showMessage(`${text} Start a new one below.`)
    return "refused" as const
  }
  if (!isUuid(sessionId)) return refuse(`"${sessionId}" is not a session id: a link to a game ends in ?session= and a 36-character id.`, "invalid_link")
  try {
    const game = await joinGame(sessionId)
    if (game.kind !== kind) return refuse(`This session is not a ${kind} demo${game.kind === "" ? "" : `; open it at /demo/${game.kind}?session=${sessionId}`}.`)
    return game
  } catch (error) {
    if (error instanceof SyncKairosError && error.code === "SESSION_NOT_FOUND") {
      return refuse("There is no game with this id. It may have ended and expired, or the link is incomplete.")
    }
    return refuse(`The game could not be loaded (${String(error)}). Reload to try again.`)
  }
}

/** Puts a new game's id in the address bar, so reloading or sharing the page opens the same game. */
const linkTo = (game: Game): void => {
  history.replaceState(null, "", `${location.pathname}?session=${game.session_id}`)
}

export const showShareLink = (url: string): void => {
  const input = $<HTMLInputElement>("#share-link")
  input.value = url
  $(".share").hidden = false
  $(".copy").onclick = async () => {
    input.select()
    // The clipboard API needs a secure context; a phone on the LAN over http falls back to the selection.
    await navigator.clipboard?.writeText(url).catch(() => document.execCommand("copy"))
    $(".copy").textContent = "Copied"
  }
}

/** m:ss (h:mm:ss from an hour), and tenths under 20 s, when every tenth counts. */
export const formatClock = (ms: number): string => {
  if (ms < 20_000) return `${Math.floor(ms / 1000)}.${Math.floor((ms % 1000) / 100)}`
  const total = Math.ceil(ms / 1000)
  const h = Math.floor(total / 3600)
  const m = Math.floor((total % 3600) / 60)
  const s = String(total % 60).padStart(2, "0")
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`
}

/** Sets an attribute or text only when it changes: the frame loop runs 60 times a second. */
export const setData = (element: HTMLElement, name: string, value: string): void => {
  if (element.dataset[name] !== value) element.dataset[name] = value
}

export const setText = (element: Element, text: string): void => {
  if (element.textContent !== text) element.textContent = text
}

export interface Playing {
  readonly client: SyncKairos
  readonly feed: SessionFeed
  /** The latest state, once the feed has one. */
  readonly state: () => SessionState | undefined
}

/**
 * Follows the game and redraws on every animation frame: remaining times are computed from the
 * latest authoritative state and the server clock each frame, never counted down locally.
 */
export const play = (game: Game, draw: (state: SessionState, client: SyncKairos) => void): Playing => {
  root.dataset["sessionId"] = game.session_id
  const client = new SyncKairos({ baseUrl: location.origin, ...(game.token === null ? {} : { token: game.token }) })
  let current: SessionState | undefined
  const feed = client.follow(game.session_id, {
    onState: (state) => {
      current = state
      setData(root, "status", state.status)
    },
    onConnection: (connection) => {
      setData(root, "connection", connection)
      setText($(".connection-text"), connection)
    },
    onDeleted: () => {
      setData(root, "status", "deleted")
      showMessage("This game was deleted.")
    },
    onError: (error) =>
      showMessage(error.code === "SESSION_NOT_FOUND" ? "This game no longer exists." : `The live feed stopped: ${error.message}`)
  })
  const frame = () => {
    if (current !== undefined) draw(current, client)
    requestAnimationFrame(frame)
  }
  requestAnimationFrame(frame)
  return { client, feed, state: () => current }
}

/** Runs a command; a refusal (another tap got there first: 409, 400) shows briefly instead of failing the page. */
export const act = (command: () => Promise<unknown>): void => {
  command().catch((error: unknown) => {
    if (error instanceof SyncKairosError && (error.code === "CONFLICT" || error.code === "INVALID_STATE_TRANSITION")) return
    showMessage(`That did not go through: ${String(error)}`)
  })
}

/**
 * Offers the setup's choices: a button creates a game with the options it names, puts the game in the
 * address bar and hands it on.
 */
export const offerSetup = (optionsOf: (button: HTMLButtonElement) => Record<string, unknown>, onCreated: (game: Game) => void): void => {
  // A refused link keeps saying so (not_found, invalid_link) while the setup is offered under its message.
  if (root.dataset["status"] === "loading") root.dataset["status"] = "setup"
  $(".setup").hidden = false
  for (const button of root.querySelectorAll<HTMLButtonElement>(".setup button")) {
    button.onclick = () => {
      button.disabled = true
      createGame(optionsOf(button))
        .then((created) => {
          $(".setup").hidden = true
          linkTo(created)
          onCreated(created)
        })
        .catch((error: unknown) => {
          button.disabled = false
          showMessage(`It could not be created: ${String(error)}`)
        })
    }
  }
}
