// SyncKairos WebSocket fan-out load test for k6, run against deployed instances:
//
//   k6 run -e BASE_URLS=http://a:3000,http://b:3000 load-tests/ws-fanout.js
//   k6 run -e BASE_URLS=http://a:3000,http://b:3000 -e SESSIONS=2000 -e RATE=1000 load-tests/ws-fanout.js
//
// Mirror of `npm run bench:ws` (load-tests/bench-ws.ts, scenarios/wsFanout.ts): same setup (SESSIONS
// started per_participant sessions, default 1000, lib/sessions.js), same sockets (SOCKETS_PER_SESSION
// per session, default 5, alternating over BASE_URLS), same load (RATE switches/s, default 500, all
// sent to the first URL, each session in turn), same measure: ws_delivery_ms, from sending a switch to
// receiving its STATE_UPDATE, on the sockets of the other instances (of all sockets with one URL).
// Every socket checks that it sees each version once, in order. Change both together.
// Differences: k6 clocks are whole milliseconds (Date.now()); each VU owns SESSIONS / VUS sessions and
// switches them on its own timer, so the sends are spread evenly but not on one global schedule.
//
// Environment (all optional but the URLs):
//   BASE_URL / BASE_URLS  one URL, or a comma-separated list; switches go to the first
//   SESSIONS              sessions created and started in setup() (default 1000)
//   SOCKETS_PER_SESSION   sockets per session (default 5)
//   RATE                  switches per second, all VUs together (default 500)
//   DURATION              how long switches are sent, e.g. 20s, 2m (default 20s)
//   VUS                   VUs; each holds SESSIONS / VUS sessions and their sockets (default 100)
//   P99_MS                threshold on ws_delivery_ms p(99) (default 10)
//   KEEP_SESSIONS=1       skip deleting the sessions in teardown()
import http from 'k6/http';
import { check } from 'k6';
import exec from 'k6/execution';
import { Counter, Rate, Trend } from 'k6/metrics';
import { clearInterval, clearTimeout, setInterval, setTimeout } from 'k6/timers';
import { WebSocket } from 'k6/websockets';
import { createStartedSessions, deleteSessions } from './lib/sessions.js';

const BASE_URLS = (__ENV.BASE_URLS || __ENV.BASE_URL || 'http://localhost:3000')
  .split(',')
  .map((u) => u.trim().replace(/\/+$/, ''))
  .filter((u) => u.length > 0);
const WS_URLS = BASE_URLS.map((u) => u.replace(/^http/, 'ws'));
const SESSIONS = parseInt(__ENV.SESSIONS || '1000', 10);
const SOCKETS_PER_SESSION = parseInt(__ENV.SOCKETS_PER_SESSION || '5', 10);
const RATE = Number(__ENV.RATE || '500');
const DURATION = __ENV.DURATION || '20s';
const VUS = parseInt(__ENV.VUS || '100', 10);
const P99_MS = Number(__ENV.P99_MS || '10');

// After the last switch, how long sockets get to receive it before the ones short of it count as behind.
const SETTLE_MS = 2000;
const CONNECT_TIMEOUT_MS = 60000;
// Send instants kept per session: one switch per session every few seconds, so 64 cover minutes.
const SLOTS = 64;

function durationMs(text) {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text);
  if (match === null) throw new Error(`DURATION must look like 500ms, 20s, 2m or 1h, got ${text}`);
  return Number(match[1]) * { ms: 1, s: 1000, m: 60000, h: 3600000 }[match[2]];
}
const DURATION_MS = durationMs(DURATION);

const delivery = new Trend('ws_delivery_ms', true);
// The same deliveries split at the commit (the Redis time, ms, in the event id): meaningful only when
// this machine's clock agrees with the Redis server's (the same host, or NTP within a millisecond).
const toCommit = new Trend('ws_to_commit_ms', true);
const afterCommit = new Trend('ws_after_commit_ms', true);
const missed = new Counter('ws_missed_events');
const duplicates = new Counter('ws_duplicate_events');
const behind = new Counter('ws_behind_sockets');
const connectErrors = new Counter('ws_connect_errors');
const switchErrors = new Rate('switch_errors');

export const options = {
  setupTimeout: '300s',
  teardownTimeout: '300s',
  summaryTrendStats: ['avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max'],
  scenarios: {
    ws_fanout: {
      executor: 'per-vu-iterations',
      vus: Math.min(VUS, SESSIONS),
      iterations: 1,
      maxDuration: `${Math.ceil((DURATION_MS + CONNECT_TIMEOUT_MS + SETTLE_MS) / 1000) + 30}s`,
      exec: 'fanout',
    },
  },
  thresholds: {
    ws_delivery_ms: [`p(99)<${P99_MS}`],
    ws_missed_events: ['count==0'],
    ws_duplicate_events: ['count==0'],
    ws_behind_sockets: ['count==0'],
    ws_connect_errors: ['count==0'],
    switch_errors: ['rate==0'],
  },
};

export function setup() {
  if (BASE_URLS.length === 0) exec.test.abort('set BASE_URL or BASE_URLS');
  return { ids: createStartedSessions(BASE_URLS[0], SESSIONS) };
}

// One VU: the sockets of its sessions, then switches of those sessions at its share of RATE.
export function fanout(data) {
  const vus = Math.min(VUS, data.ids.length);
  const mine = [];
  for (let s = exec.vu.idInTest - 1; s < data.ids.length; s += vus) mine.push(s);
  // Counters with no sample would leave their thresholds unevaluated.
  missed.add(0);
  duplicates.add(0);
  behind.add(0);
  connectErrors.add(0);

  const sent = {};
  const sentAt = {};
  const subscribers = [];
  let synced = 0;

  const onFrame = (sub, frame) => {
    if (frame.type === 'STATE_SYNC') {
      sub.lastVersion = frame.version;
      if (++synced === subscribers.length) startSwitching();
    } else if (frame.type === 'STATE_UPDATE') {
      const version = frame.event.version;
      if (version <= sub.lastVersion) duplicates.add(1);
      else if (version > sub.lastVersion + 1) missed.add(version - sub.lastVersion - 1);
      sub.lastVersion = Math.max(sub.lastVersion, version);
      const at = sentAt[sub.session * SLOTS + (version % SLOTS)];
      if (sub.measured && at !== undefined) {
        const now = Date.now();
        const commitMs = Number(frame.event.id.split('-')[0]);
        delivery.add(now - at);
        toCommit.add(Math.max(0, commitMs - at));
        afterCommit.add(Math.max(0, now - commitMs));
      }
    }
  };

  for (const s of mine) {
    for (let k = 0; k < SOCKETS_PER_SESSION; k++) {
      const instance = (s * SOCKETS_PER_SESSION + k) % WS_URLS.length;
      const sub = {
        session: s,
        measured: WS_URLS.length === 1 || instance !== 0,
        lastVersion: 0,
        ws: new WebSocket(`${WS_URLS[instance]}/ws?sessionId=${data.ids[s]}`),
      };
      sub.ws.onmessage = (e) => onFrame(sub, JSON.parse(e.data));
      subscribers.push(sub);
    }
  }

  const closeAll = () => subscribers.forEach((sub) => sub.ws.close());
  const connectTimer = setTimeout(() => {
    connectErrors.add(subscribers.length - synced);
    closeAll();
  }, CONNECT_TIMEOUT_MS);

  function startSwitching() {
    clearTimeout(connectTimer);
    const switchUrls = data.ids.map((id) => `${BASE_URLS[0]}/v1/sessions/${id}/switch`);
    const params = { headers: { 'Content-Type': 'application/json' }, tags: { name: 'switch' }, timeout: '10s', responseType: 'none' };
    let n = 0;
    const timer = setInterval(() => {
      const s = mine[n++ % mine.length];
      sent[s] = (sent[s] || 0) + 1;
      // The n-th switch of a session produces version 2 + n (create and start were 1 and 2).
      sentAt[s * SLOTS + ((2 + sent[s]) % SLOTS)] = Date.now();
      http.asyncRequest('POST', switchUrls[s], '{}', params).then((res) => {
        const ok = res.status >= 200 && res.status < 300;
        switchErrors.add(!ok);
        check(res, { 'switch answered 2xx': () => ok });
      });
    }, (1000 * vus) / RATE);
    setTimeout(() => {
      clearInterval(timer);
      setTimeout(() => {
        for (const sub of subscribers) {
          if (sub.lastVersion < 2 + (sent[sub.session] || 0)) behind.add(1);
        }
        closeAll();
      }, SETTLE_MS);
    }, DURATION_MS);
  }
}

export function teardown(data) {
  if (__ENV.KEEP_SESSIONS === '1' || !data || !data.ids) return;
  deleteSessions(BASE_URLS[0], data.ids);
}
