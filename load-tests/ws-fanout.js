// SyncKairos WebSocket fan-out load test for k6, run against deployed instances:
//
//   k6 run -e BASE_URLS=http://a:3000,http://b:3000 load-tests/ws-fanout.js
//   k6 run -e BASE_URLS=http://a:3000,http://b:3000 -e SESSIONS=2000 -e RATE=1000 load-tests/ws-fanout.js
//
// `npm run bench:ws` (load-tests/bench-ws.ts) runs this script against two instances it starts, and
// adds what k6 cannot see: the CPU of each process over the measured window.
// setup() creates and starts SESSIONS per_participant sessions (default 1000, lib/sessions.js) and one
// more, the start barrier. Each VU holds SESSIONS / VUS sessions with SOCKETS_PER_SESSION sockets each
// (default 5, alternating over BASE_URLS) and, once every one of its sockets has its STATE_SYNC,
// switches the barrier session once; every VU watches that session on a socket of its own and starts
// when it has seen every VU's switch, so all VUs switch together and no connect is inside the
// measure. Then the VUs send RATE switches/s together (default 500, all to the first URL, each VU its
// sessions in turn) for WARMUP (default 2s, not measured) and DURATION (default 20s, measured).
// ws_delivery_ms is the time from sending a switch to receiving its STATE_UPDATE, on the sockets of
// the other instances (of all sockets with one URL); ws_delivered_events counts the STATE_UPDATEs
// received on all sockets; ws_window_start / ws_window_end are the first and last instants of the
// measured part (epoch ms; take the min of the first and the max of the second), the window over
// which a caller reads CPU per delivered event. Every socket checks that it sees each version once,
// in order. k6 clocks are whole milliseconds (Date.now()).
//
// Environment (all optional but the URLs):
//   BASE_URL / BASE_URLS  one URL, or a comma-separated list; switches go to the first
//   SESSIONS              sessions created and started in setup() (default 1000)
//   SOCKETS_PER_SESSION   sockets per session (default 5)
//   RATE                  switches per second, all VUs together (default 500)
//   WARMUP                switches sent before the measure, e.g. 0s, 2s (default 2s)
//   DURATION              how long the measured switches are sent, e.g. 20s, 2m (default 20s)
//   VUS                   VUs; each holds SESSIONS / VUS sessions and their sockets (default 100)
//   P99_MS                threshold on ws_delivery_ms p(99) (default 10)
//   KEEP_SESSIONS=1       skip deleting the sessions in teardown()
import http from 'k6/http';
import { check } from 'k6';
import exec from 'k6/execution';
import { Counter, Gauge, Rate, Trend } from 'k6/metrics';
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
const VUS = Math.min(parseInt(__ENV.VUS || '100', 10), SESSIONS);
const P99_MS = Number(__ENV.P99_MS || '10');

// After the last switch, how long sockets get to receive it before the ones short of it count as behind.
const SETTLE_MS = 2000;
// From a VU's start to the barrier's release: every socket of every VU connected and synced.
const START_TIMEOUT_MS = 60000;
// How many times a socket is opened before it counts as a connect error.
const CONNECT_ATTEMPTS = 3;
// Send instants kept per session: one switch per session every few seconds, so 64 cover minutes.
const SLOTS = 64;

function durationMs(name, text) {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text);
  if (match === null) throw new Error(`${name} must look like 500ms, 20s, 2m or 1h, got ${text}`);
  return Number(match[1]) * { ms: 1, s: 1000, m: 60000, h: 3600000 }[match[2]];
}
const WARMUP_MS = durationMs('WARMUP', __ENV.WARMUP || '2s');
const DURATION_MS = durationMs('DURATION', __ENV.DURATION || '20s');

const delivery = new Trend('ws_delivery_ms', true);
// The same deliveries split at the commit (the Redis time, ms, in the event id): meaningful only when
// this machine's clock agrees with the Redis server's (the same host, or NTP within a millisecond).
const toCommit = new Trend('ws_to_commit_ms', true);
const afterCommit = new Trend('ws_after_commit_ms', true);
const delivered = new Counter('ws_delivered_events');
const windowStart = new Gauge('ws_window_start');
const windowEnd = new Gauge('ws_window_end');
const missed = new Counter('ws_missed_events');
const duplicates = new Counter('ws_duplicate_events');
const behind = new Counter('ws_behind_sockets');
const connectErrors = new Counter('ws_connect_errors');
const startTimeouts = new Counter('ws_start_timeouts');
const switchErrors = new Rate('switch_errors');

export const options = {
  setupTimeout: '300s',
  teardownTimeout: '300s',
  summaryTrendStats: ['avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max', 'count'],
  scenarios: {
    ws_fanout: {
      executor: 'per-vu-iterations',
      vus: VUS,
      iterations: 1,
      maxDuration: `${Math.ceil((START_TIMEOUT_MS + WARMUP_MS + DURATION_MS + SETTLE_MS) / 1000) + 30}s`,
      exec: 'fanout',
    },
  },
  thresholds: {
    ws_delivery_ms: [`p(99)<${P99_MS}`],
    ws_missed_events: ['count==0'],
    ws_duplicate_events: ['count==0'],
    ws_behind_sockets: ['count==0'],
    ws_connect_errors: ['count==0'],
    ws_start_timeouts: ['count==0'],
    switch_errors: ['rate==0'],
  },
};

export function setup() {
  if (BASE_URLS.length === 0) exec.test.abort('set BASE_URL or BASE_URLS');
  const [barrier, ...ids] = createStartedSessions(BASE_URLS[0], SESSIONS + 1).ids;
  return { ids, barrier };
}

const SWITCH_PARAMS = { headers: { 'Content-Type': 'application/json' }, tags: { name: 'switch' }, timeout: '10s', responseType: 'none' };

function sendSwitch(url, params) {
  return http.asyncRequest('POST', url, '{}', params).then((res) => {
    const ok = res.status >= 200 && res.status < 300;
    switchErrors.add(!ok);
    check(res, { 'switch answered 2xx': () => ok });
  });
}

// One VU: the sockets of its sessions, the barrier, then switches of those sessions at its share of RATE.
export function fanout(data) {
  const mine = [];
  for (let s = exec.vu.idInTest - 1; s < data.ids.length; s += VUS) mine.push(s);
  // Counters with no sample would leave their thresholds unevaluated.
  missed.add(0);
  duplicates.add(0);
  behind.add(0);
  connectErrors.add(0);
  startTimeouts.add(0);
  delivered.add(0);

  const sent = {};
  const sentAt = {};
  const subscribers = [];
  let synced = 0;
  let measureFrom = Infinity;

  const onFrame = (sub, frame) => {
    if (frame.type === 'STATE_SYNC') {
      sub.lastVersion = frame.version;
      if (sub.synced) return;
      sub.synced = true;
      if (++synced === subscribers.length) arrive();
    } else if (frame.type === 'STATE_UPDATE') {
      const version = frame.event.version;
      if (version <= sub.lastVersion) duplicates.add(1);
      else if (version > sub.lastVersion + 1) missed.add(version - sub.lastVersion - 1);
      sub.lastVersion = Math.max(sub.lastVersion, version);
      const now = Date.now();
      if (now < measureFrom) return;
      delivered.add(1);
      const at = sentAt[sub.session * SLOTS + (version % SLOTS)];
      if (sub.measured && at !== undefined) {
        const commitMs = Number(frame.event.id.split('-')[0]);
        delivery.add(now - at);
        toCommit.add(Math.max(0, commitMs - at));
        afterCommit.add(Math.max(0, now - commitMs));
      }
    }
  };

  // The barrier: create and start made versions 1 and 2, each VU's switch one more.
  const barrier = new WebSocket(`${WS_URLS[0]}/ws?sessionId=${data.barrier}`);
  let released = false;
  const onBarrierVersion = (version) => {
    if (released || version < 2 + VUS) return;
    released = true;
    barrier.close();
    startSwitching();
  };
  barrier.onmessage = (e) => {
    const frame = JSON.parse(e.data);
    if (frame.type === 'STATE_SYNC') onBarrierVersion(frame.version);
    else if (frame.type === 'STATE_UPDATE') onBarrierVersion(frame.event.version);
  };

  // A socket refused while thousands connect at once (a full accept queue) is opened again, a few
  // times, before it counts as a connect error: one refusal must not keep every VU from starting.
  const open = (sub) => {
    sub.ws = new WebSocket(sub.url);
    sub.ws.onmessage = (e) => onFrame(sub, JSON.parse(e.data));
    sub.ws.onclose = () => {
      if (sub.synced || closing) return;
      if (++sub.attempts < CONNECT_ATTEMPTS) setTimeout(() => open(sub), 200 * sub.attempts);
    };
  };
  let closing = false;
  for (const s of mine) {
    for (let k = 0; k < SOCKETS_PER_SESSION; k++) {
      const instance = (s * SOCKETS_PER_SESSION + k) % WS_URLS.length;
      const sub = {
        session: s,
        measured: WS_URLS.length === 1 || instance !== 0,
        lastVersion: 0,
        synced: false,
        attempts: 0,
        url: `${WS_URLS[instance]}/ws?sessionId=${data.ids[s]}`,
        ws: null,
      };
      open(sub);
      subscribers.push(sub);
    }
  }

  const closeAll = () => {
    closing = true;
    subscribers.forEach((sub) => sub.ws.close());
  };
  const startTimer = setTimeout(() => {
    connectErrors.add(subscribers.length - synced);
    startTimeouts.add(1);
    barrier.close();
    closeAll();
  }, START_TIMEOUT_MS);

  function arrive() {
    sendSwitch(`${BASE_URLS[0]}/v1/sessions/${data.barrier}/switch`, { ...SWITCH_PARAMS, tags: { name: 'barrier' } });
  }

  function startSwitching() {
    clearTimeout(startTimer);
    measureFrom = Date.now() + WARMUP_MS;
    windowStart.add(measureFrom);
    const switchUrls = data.ids.map((id) => `${BASE_URLS[0]}/v1/sessions/${id}/switch`);
    let n = 0;
    const timer = setInterval(() => {
      const s = mine[n++ % mine.length];
      sent[s] = (sent[s] || 0) + 1;
      // The n-th switch of a session produces version 2 + n (create and start were 1 and 2).
      sentAt[s * SLOTS + ((2 + sent[s]) % SLOTS)] = Date.now();
      sendSwitch(switchUrls[s], SWITCH_PARAMS);
    }, (1000 * VUS) / RATE);
    setTimeout(() => {
      clearInterval(timer);
      // The window ends when every socket has the last version (or at the settle limit).
      const caughtUp = () => subscribers.every((sub) => sub.lastVersion >= 2 + (sent[sub.session] || 0));
      const settleEnd = Date.now() + SETTLE_MS;
      const poll = setInterval(() => {
        if (!caughtUp() && Date.now() < settleEnd) return;
        clearInterval(poll);
        windowEnd.add(Date.now());
        for (const sub of subscribers) {
          if (sub.lastVersion < 2 + (sent[sub.session] || 0)) behind.add(1);
        }
        closeAll();
      }, 5);
    }, WARMUP_MS + DURATION_MS);
  }
}

export function teardown(data) {
  if (__ENV.KEEP_SESSIONS === '1' || !data || !data.ids) return;
  deleteSessions(BASE_URLS[0], [data.barrier, ...data.ids]);
}
