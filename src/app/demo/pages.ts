/** The demo pages' HTML: a static shell each, filled in by its bundled script. */

export const DEMO_KINDS = ["chess", "countdown"] as const
export type DemoKind = (typeof DEMO_KINDS)[number]

const shell = (title: string, body: string, script?: string) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
<meta name="theme-color" content="#111418">
<title>${title} · SyncKairos</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/demo/assets/demo.css">
${script === undefined ? "" : `<script type="module" src="/demo/assets/${script}.js"></script>`}
</head>
<body>
${body}
</body>
</html>
`

const topBar = (title: string) => `<header class="top">
  <a class="brand" href="/demo">SyncKairos</a>
  <h1>${title}</h1>
  <span class="connection" aria-live="polite"><span class="dot" aria-hidden="true"></span><span class="connection-text">connecting</span></span>
</header>`

const message = `<p class="message" role="alert" hidden></p>`

const share = (label: string) => `<div class="share" hidden>
  <label for="share-link">${label}</label>
  <div class="share-row"><input id="share-link" readonly><button type="button" class="copy">Copy</button></div>
</div>`

/** The page root: the attributes a test or an embedding page reads, before the script sets them. */
const appRoot = (kind: DemoKind) => `<main id="app" class="demo ${kind}" data-session-id="" data-status="loading" data-connection="connecting">`

interface Choice {
  readonly label: string
  readonly note?: string
  /** data-* attributes the page's script reads the new game's options from. */
  readonly data: Record<string, number>
}

/** The setup: a title, a line of help, and a button per choice. */
const setup = (title: string, help: string, choices: ReadonlyArray<Choice>) => `<section class="setup" hidden aria-labelledby="setup-title">
  <h2 id="setup-title">${title}</h2>
  <p>${help}</p>
  <div class="choices">
${choices.map(({ label, note, data }) =>
    `    <button type="button" ${Object.entries(data).map(([name, value]) => `data-${name}="${value}"`).join(" ")}>${label}${note === undefined ? "" : `<small>${note}</small>`}</button>`).join("\n")}
  </div>
</section>`

const chessBody = `${appRoot("chess")}
${topBar("Chess clock")}
${message}
${setup("New game", "Pick a time control. Each player taps their own clock (or presses the space bar) after moving.", [
  { label: "1 min", note: "bullet", data: { minutes: 1, increment: 0 } },
  { label: "3 + 2", note: "blitz", data: { minutes: 3, increment: 2 } },
  { label: "5 min", note: "blitz", data: { minutes: 5, increment: 0 } },
  { label: "10 + 5", note: "rapid", data: { minutes: 10, increment: 5 } },
  { label: "30 min", note: "classical", data: { minutes: 30, increment: 0 } }
])}
<section class="board" hidden>
  <button type="button" class="clock top-clock" data-seat="1" data-participant-id="" data-remaining-ms="0" data-active="false">
    <span class="seat">Black</span><span class="time">--:--</span><span class="moves"></span>
  </button>
  <div class="bar">
    <span class="control"></span>
    <span class="status-text" aria-live="polite"></span>
    <span class="buttons">
      <button type="button" class="pause">Pause</button>
      <a class="new" href="/demo/chess">New game</a>
    </span>
  </div>
  <button type="button" class="clock" data-seat="0" data-participant-id="" data-remaining-ms="0" data-active="false">
    <span class="seat">White</span><span class="time">--:--</span><span class="moves"></span>
  </button>
</section>
${share("Open this game on another device")}
</main>`

const countdownBody = `${appRoot("countdown")}
${topBar("Countdown")}
${message}
${setup("New countdown", "For a quiz or an exam: you control it, everyone with the link watches the same clock.",
  [1, 5, 10, 30, 60].map((minutes) => ({ label: `${minutes} min`, data: { minutes } })))}
<section class="stage" hidden>
  <div class="clock big" data-participant-id="" data-remaining-ms="0" data-active="false" role="timer" aria-live="off">
    <span class="time">--:--</span>
  </div>
  <div class="progress" aria-hidden="true"><div class="progress-fill"></div></div>
  <p class="status-text" aria-live="polite"></p>
  <div class="host-controls" hidden>
    <button type="button" class="start">Start</button>
    <button type="button" class="pause">Pause</button>
    <button type="button" class="resume">Resume</button>
    <button type="button" class="finish">Finish</button>
  </div>
  <a class="new" href="/demo/countdown">New countdown</a>
</section>
${share("Viewers join with this link")}
</main>`

export const demoPage = (kind: DemoKind): string =>
  kind === "chess" ? shell("Chess clock", chessBody, "chess") : shell("Countdown", countdownBody, "countdown")

export const demoIndex = (): string =>
  shell("Demos", `<main class="demo index">
${topBar("Demos")}
<section class="setup">
  <p>Clocks kept by the server: open the same link on a phone and a laptop and both show the same time.</p>
  <div class="choices">
    <a class="choice" href="/demo/chess">Chess clock<small>two players, increment</small></a>
    <a class="choice" href="/demo/countdown">Countdown<small>a host, any number of viewers</small></a>
  </div>
</section>
</main>`)
