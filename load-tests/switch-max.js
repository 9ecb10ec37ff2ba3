// SyncKairos switch capacity for k6: the switches of switch.js (same sessions, same request, same
// spread over BASE_URLS) sent by VUS virtual users in a closed loop, each sending its next switch as
// soon as the last one is answered, for DURATION. The switches per second it reaches is the capacity.
//
//   k6 run -e BASE_URLS=http://a:3000,http://b:3000 -e VUS=50 -e DURATION=10s load-tests/switch-max.js
//
// Environment: BASE_URL / BASE_URLS, SESSIONS, KEEP_SESSIONS as in switch.js; VUS (default 50);
// DURATION (default 10s); MAX_ERROR_RATE (default 0). There is no latency threshold: at saturation the
// latency is the queue's.
import { closedLoopOptions } from './lib/closedLoop.js';
import { options as fixedRate, setup, switchTurn, teardown } from './switch.js';

export { setup, switchTurn, teardown };

export const options = closedLoopOptions(fixedRate, { scenario: 'switch_max', exec: 'switchTurn', name: 'switch', errorRate: 'switch_errors' });
