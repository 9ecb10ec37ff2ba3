// The options of a capacity script: `base` (the fixed-rate script's options) with its scenario replaced
// by VUS virtual users (default 50) running `exec` in a closed loop for DURATION (default 10s), and
// thresholds on the requests tagged `name` and on the script's `errorRate` metric: MAX_ERROR_RATE
// (default 0). There is no latency threshold: at saturation the latency is the queue's.
export function closedLoopOptions(base, { scenario, exec, name, errorRate }) {
  const maxErrorRate = Number(__ENV.MAX_ERROR_RATE || '0');
  return {
    ...base,
    scenarios: {
      [scenario]: {
        executor: 'constant-vus',
        vus: parseInt(__ENV.VUS || '50', 10),
        duration: __ENV.DURATION || '10s',
        exec,
      },
    },
    thresholds: {
      // Declared so that the summary reports these requests apart from setup's.
      [`http_req_duration{name:${name}}`]: ['max>=0'],
      [`http_req_failed{name:${name}}`]: [`rate<=${maxErrorRate}`],
      [errorRate]: [`rate<=${maxErrorRate}`],
    },
  };
}
