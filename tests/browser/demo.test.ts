/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The demo pages in a real browser (Debian's chromium, headless, driven by playwright-core), on two
 * instances sharing one Redis: the pages of a game agree with each other and with the API, a move
 * shows on the other page quickly, and a page whose instance goes away and comes back catches up
 * without a reload.
 */
import { type Browser, chromium, type Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Instance, startInstance } from "../support/instance.ts"
import { deleteKeysWithPrefix, testPrefix } from "../support/redis.ts"

const CHROMIUM = "/usr/bin/chromium"
/** How far a page's clock may be from the API's, and from another page's, at the same instant. */
const AGREEMENT_MS = 50
const MOVE_SHOWN_MS = 250

const prefix = testPrefix("browser-demo")
let browser: Browser
let one: Instance
let two: Instance
beforeAll(async () => {
  ;[one, two] = await Promise.all([startInstance(prefix), startInstance(prefix)])
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]
  })
})
afterAll(async () => {
  await browser?.close()
  await Promise.all([one?.stop(), two?.stop()])
  await deleteKeysWithPrefix(prefix)
})

interface Clock {
  readonly id: string
  readonly remaining: number
  readonly active: string
}
interface Reading {
  /** Wall-clock time of the reading, taken in the frame the page last drew. */
  readonly at: number
  readonly clocks: ReadonlyArray<Clock>
}

/** The page's clocks as drawn in its next animation frame (the page's loop draws first in a frame). */
const read = (page: Page): Promise<Reading> =>
  page.evaluate(() =>
    new Promise<Reading>((resolve) =>
      requestAnimationFrame(() =>
        resolve({
          at: Date.now(),
          clocks: [...document.querySelectorAll<HTMLElement>(".clock")].map((clock) => ({
            id: clock.dataset["participantId"] ?? "",
            remaining: Number(clock.dataset["remainingMs"]),
            active: clock.dataset["active"] ?? ""
          }))
        })
      )
    )
  )

interface ApiParticipant {
  participant_id: string
  time_remaining_ms: number
  time_used_ms: number
  is_active: boolean
}
interface ApiState {
  status: string
  version: number
  server_time_ms: number
  sync_mode: string
  active_participant_id: string | null
  participants: Array<ApiParticipant>
}

const apiState = async (baseUrl: string, sessionId: string): Promise<ApiState> =>
  ((await (await fetch(`${baseUrl}/v1/sessions/${sessionId}`)).json()) as { data: ApiState }).data

/** What the API's answer says a clock held at wall-clock time `at` (a running clock ran on since server_time_ms). */
const apiRemainingAt = (state: ApiState, participant: ApiParticipant, at: number): number => {
  const runs = state.status === "running" && (participant.is_active || state.sync_mode === "global")
  return runs ? Math.max(0, participant.time_remaining_ms - (at - state.server_time_ms)) : participant.time_remaining_ms
}

const runsIn = (state: ApiState) => (participant: ApiParticipant) =>
  state.status === "running" && (state.active_participant_id === participant.participant_id || state.sync_mode === "global")

/** The ids of the clocks a page draws running. */
const runningOn = (page: Page) =>
  page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>(".clock[data-active='true']")].map((clock) => clock.dataset["participantId"] ?? "").sort()
  )

/**
 * Every clock of every page within AGREEMENT_MS of the API and of each other, at the same instant,
 * once every page draws the clocks the API says run: each page learns of a command from its own feed,
 * the pressing page's too, and on a busy machine one feed may deliver later than another (how soon a
 * move shows is measured apart).
 */
const expectAgreement = async (pages: ReadonlyArray<Page>, baseUrl: string, sessionId: string) => {
  const settled = await apiState(baseUrl, sessionId)
  const running = settled.participants.filter(runsIn(settled)).map((p) => p.participant_id).sort()
  for (const page of pages) await expect.poll(() => runningOn(page)).toEqual(running)
  const readings = await Promise.all(pages.map(read))
  const state = await apiState(baseUrl, sessionId)
  const runs = runsIn(state)
  const [first] = readings
  for (const reading of readings) {
    expect(reading.clocks.map((c) => c.id).sort()).toEqual(state.participants.map((p) => p.participant_id).sort())
    for (const participant of state.participants) {
      const clock = reading.clocks.find((c) => c.id === participant.participant_id)!
      expect(clock.active).toBe(String(runs(participant)))
      expect(Math.abs(clock.remaining - apiRemainingAt(state, participant, reading.at))).toBeLessThanOrEqual(AGREEMENT_MS)
      // The first page's clock, run on to this reading's instant when it runs.
      const mine = first!.clocks.find((c) => c.id === participant.participant_id)!
      const ran = runs(participant) ? reading.at - first!.at : 0
      expect(Math.abs(clock.remaining - Math.max(0, mine.remaining - ran))).toBeLessThanOrEqual(AGREEMENT_MS)
    }
  }
  return state
}

const openPage = async (url: string): Promise<Page> => {
  const page = await browser.newPage({ viewport: { width: 1024, height: 700 } })
  const failures: Array<string> = []
  page.on("pageerror", (error) => failures.push(String(error)))
  await page.goto(url)
  ;(page as Page & { failures?: Array<string> }).failures = failures
  return page
}

const live = (page: Page) => page.waitForSelector("#app[data-connection='live']", { timeout: 15_000 })
const sessionOf = (page: Page) => page.locator("#app").getAttribute("data-session-id") as Promise<string>
const activeId = (page: Page) => page.locator(".clock[data-active='true']").getAttribute("data-participant-id")

describe("chess clock", () => {
  let white: Page
  let black: Page
  let sessionId: string

  beforeAll(async () => {
    white = await openPage(`${one.baseUrl}/demo/chess`)
    await white.click("text=3 + 2")
    await live(white)
    sessionId = await sessionOf(white)
    expect(await white.locator("#share-link").inputValue()).toBe(`${one.baseUrl}/demo/chess?session=${sessionId}`)
    // The share link, opened on the other instance.
    black = await openPage(`${two.baseUrl}/demo/chess?session=${sessionId}`)
    await live(black)
  })

  it("shows the same clocks on two pages as the API does, within 50 ms, refreshed every frame", async () => {
    await expect.poll(() => white.locator(".control").textContent()).toBe("3 min + 2 s per move")
    await white.keyboard.press("Space") // starts White's clock
    await expect.poll(() => black.locator("#app").getAttribute("data-status")).toBe("running")
    for (let i = 0; i < 3; i++) {
      await expectAgreement([white, black], one.baseUrl, sessionId)
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
    await white.keyboard.press("Space") // White moves: Black's clock runs, White got the increment
    await expect.poll(async () => (await apiState(one.baseUrl, sessionId)).version).toBe(3)
    await expect.poll(() => activeId(black)).toBe((await apiState(one.baseUrl, sessionId)).active_participant_id)
    const state = await expectAgreement([white, black], two.baseUrl, sessionId)
    // White's bank: 3 min, less the move's time, plus the 2 s increment.
    expect(state.participants[0]!.time_remaining_ms + state.participants[0]!.time_used_ms).toBe(182_000)

    const updates = await black.evaluate(() =>
      new Promise<number>((resolve) => {
        const running = document.querySelector(".clock[data-active='true']")!
        let changes = 0
        const observer = new MutationObserver(() => changes++)
        observer.observe(running, { attributes: true, attributeFilter: ["data-remaining-ms"] })
        setTimeout(() => {
          observer.disconnect()
          resolve(changes / 2)
        }, 2000)
      })
    )
    expect(updates).toBeGreaterThanOrEqual(20)
  })

  it("shows a move made on one page on the other within 250 ms", async () => {
    await white.evaluate(() => {
      const pressed: Array<number> = []
      ;(window as unknown as { pressed: Array<number> }).pressed = pressed
      document.addEventListener("keydown", () => pressed.push(Date.now()), { capture: true })
    })
    await black.evaluate(() => {
      const shown: Array<{ id: string; at: number }> = []
      ;(window as unknown as { shown: typeof shown }).shown = shown
      new MutationObserver(() => {
        const id = document.querySelector<HTMLElement>(".clock[data-active='true']")?.dataset["participantId"] ?? ""
        if (shown.at(-1)?.id !== id) shown.push({ id, at: Date.now() })
      }).observe(document.getElementById("app")!, { subtree: true, attributes: true, attributeFilter: ["data-active"] })
    })
    const moves = 4
    for (let i = 0; i < moves; i++) {
      const before = await activeId(black)
      // A press on a page behind the last move is refused (it is pinned to the version the page shows).
      await expect.poll(() => activeId(white)).toBe(before)
      await white.keyboard.press("Space")
      await expect.poll(() => activeId(black), { timeout: 5000 }).not.toBe(before)
    }
    const pressed = await white.evaluate(() => (window as unknown as { pressed: Array<number> }).pressed)
    const shown = await black.evaluate(() => (window as unknown as { shown: Array<{ id: string; at: number }> }).shown)
    expect(pressed).toHaveLength(moves)
    expect(shown.filter((s) => s.id !== "")).toHaveLength(moves)
    const delays = shown.filter((s) => s.id !== "").map((s, i) => s.at - pressed[i]!)
    for (const delay of delays) expect(delay).toBeLessThanOrEqual(MOVE_SHOWN_MS)
    await expectAgreement([white, black], one.baseUrl, sessionId)
  })

  it("shows reconnecting while its instance is down, then the move made meanwhile, without a reload", async () => {
    await black.evaluate(() => ((window as unknown as { sameDocument: boolean }).sameDocument = true))
    const before = (await apiState(one.baseUrl, sessionId)).version
    await two.stop()
    await black.waitForSelector("#app[data-connection='reconnecting']", { timeout: 10_000 })
    await white.keyboard.press("Space")
    await expect.poll(async () => (await apiState(one.baseUrl, sessionId)).version).toBe(before + 1)
    expect(await black.locator("#app").getAttribute("data-connection")).toBe("reconnecting")

    await two.restart()
    await live(black)
    await expect.poll(() => activeId(black)).toBe((await apiState(one.baseUrl, sessionId)).active_participant_id)
    await expectAgreement([white, black], two.baseUrl, sessionId)
    expect(await black.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true)
    for (const page of [white, black]) expect((page as Page & { failures?: Array<string> }).failures).toEqual([])
  })
})

describe("countdown", () => {
  it("lets the host start and pause one clock that every viewer shows", async () => {
    const host = await openPage(`${one.baseUrl}/demo/countdown`)
    await host.click("text=5 min")
    await live(host)
    const sessionId = await sessionOf(host)
    const viewer = await openPage(`${two.baseUrl}/demo/countdown?session=${sessionId}`)
    await live(viewer)
    expect(await viewer.locator(".host-controls").isVisible()).toBe(false)
    expect(await viewer.locator(".status-text").textContent()).toBe("Waiting for the host to start")

    await host.click("button.start")
    await expect.poll(() => viewer.locator("#app").getAttribute("data-status")).toBe("running")
    await new Promise((resolve) => setTimeout(resolve, 300))
    await expectAgreement([host, viewer], two.baseUrl, sessionId)

    await host.click("button.pause")
    await expect.poll(() => viewer.locator("#app").getAttribute("data-status")).toBe("paused")
    const state = await expectAgreement([host, viewer], one.baseUrl, sessionId)
    expect(state.participants[0]!.time_remaining_ms).toBeLessThan(300_000)
  })
})

describe("bad links", () => {
  it("say that a session does not exist, or that the id is malformed, instead of a blank page", async () => {
    const unknown = await openPage(`${one.baseUrl}/demo/chess?session=${crypto.randomUUID()}`)
    await expect.poll(() => unknown.locator(".message").textContent()).toContain("There is no game with this id")
    expect(await unknown.locator("#app").getAttribute("data-status")).toBe("not_found")
    expect(await unknown.locator(".setup").isVisible()).toBe(true)

    const malformed = await openPage(`${two.baseUrl}/demo/countdown?session=12345`)
    await expect.poll(() => malformed.locator(".message").textContent()).toContain("\"12345\" is not a session id")
    expect(await malformed.locator("#app").getAttribute("data-status")).toBe("invalid_link")
  })
})

describe("with access control on", () => {
  const apiKey = "demo-test-api-key-".padEnd(40, "x")
  const authPrefix = testPrefix("browser-demo-auth")
  let guarded: Instance
  beforeAll(async () => {
    guarded = await startInstance(authPrefix, { apiKeys: [apiKey], tokenSecret: "t".repeat(48) })
  })
  afterAll(async () => {
    await guarded?.stop()
    await deleteKeysWithPrefix(authPrefix)
  })

  it("plays with the session tokens the demo hands out, and never sees an API key", async () => {
    const page = await browser.newPage()
    const credentials: Array<string> = []
    page.on("request", (request) => {
      const url = new URL(request.url())
      const credential = request.headers()["authorization"] ?? url.searchParams.get("token")
      if (url.pathname.startsWith("/v1/")) credentials.push(credential ?? "none")
    })
    page.on("websocket", (socket) => credentials.push(new URL(socket.url()).searchParams.get("token") ?? "none"))
    await page.goto(`${guarded.baseUrl}/demo/chess`)
    await page.click("text=1 min")
    await live(page)
    const sessionId = await sessionOf(page)
    await page.keyboard.press("Space")
    await expect.poll(() => page.locator("#app").getAttribute("data-status")).toBe("running")
    await page.keyboard.press("Space")
    await expect.poll(() => page.locator(".clock[data-seat='0'] .moves").textContent()).toBe("1 move")

    // The API is closed to anyone without a credential; the page's calls and its feed carried a session token.
    expect((await fetch(`${guarded.baseUrl}/v1/sessions/${sessionId}`)).status).toBe(401)
    expect(credentials.length).toBeGreaterThanOrEqual(3)
    for (const credential of credentials) {
      expect(credential).not.toContain(apiKey)
      expect(credential).toMatch(/^(Bearer )?eyJ[\w-]+\.[\w-]+\.[\w-]+$/)
    }
    const html = await page.content()
    expect(html).not.toContain(apiKey)
  })
})
