/** Helpers of the tests that drive real instances by URL and watch what their clients receive. */

/** POST with an optional JSON body; rejects only when the instance cannot be reached. */
export const post = (baseUrl: string, path: string, body?: unknown): Promise<Response> =>
  fetch(`${baseUrl}${path}`, {
    method: "POST",
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body)
  })

/** Polls `condition` every 20 ms; throws, saying `what` did not happen, after `timeoutMs`. */
export const waitUntil = async (what: string, condition: () => boolean, timeoutMs = 15_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
