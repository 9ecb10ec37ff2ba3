import { SyncKairosError } from "./errors.ts"

/** A credential, or a function that returns a fresh one (session tokens expire). */
export type Credential = string | (() => string | Promise<string>)

export interface Credentials {
  /** A session token minted for one session and role (what a browser holds). */
  readonly token?: Credential
  /** A server's API key: never ship one to a browser. */
  readonly apiKey?: Credential
}

export const resolveCredential = async (credentials: Credentials): Promise<string | undefined> => {
  const credential = credentials.token ?? credentials.apiKey
  return typeof credential === "function" ? await credential() : credential
}

export interface HttpRequest {
  readonly method: "GET" | "POST" | "DELETE"
  readonly path: string
  readonly body?: unknown
  readonly headers?: Record<string, string>
  readonly signal?: AbortSignal | undefined
}

/**
 * Base URLs, one in use at a time: a request the current one cannot take (network failure) moves
 * later requests and feeds on to the next, so a client outlives an instance it was using.
 */
export class Endpoints {
  private index = 0
  readonly urls: ReadonlyArray<string>

  constructor(baseUrl: string | ReadonlyArray<string>) {
    const urls = typeof baseUrl === "string" ? [baseUrl] : [...baseUrl]
    const issues = urls.length === 0
      ? [{ field: "baseUrl", message: "must name at least one URL" }]
      : urls.flatMap((url, i) => (/^https?:\/\/[^/]/.test(url) ? [] : [{ field: `baseUrl[${i}]`, message: "must be an http(s) URL" }]))
    if (issues.length > 0) throw SyncKairosError.invalidArgument(issues)
    this.urls = urls.map((url) => url.replace(/\/+$/, ""))
  }

  get current(): string {
    return this.urls[this.index]!
  }

  /** Moves on from `url` (when it is still the current one) and returns the next to try. */
  failed(url: string): string {
    if (this.current === url) this.index = (this.index + 1) % this.urls.length
    return this.current
  }
}

const failureOf = (status: number, body: unknown): SyncKairosError => {
  const error = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error
  return typeof error?.code === "string"
    ? new SyncKairosError(error.code, String(error.message ?? error.code), status, error.details)
    : new SyncKairosError("BAD_RESPONSE", `the server answered ${status} without an API error`, status)
}

/** One API call: `{ data }` on success, a SyncKairosError carrying the server's status, code and details otherwise. */
export const send = async <T>(
  endpoints: Endpoints,
  credentials: Credentials,
  fetchImpl: typeof fetch,
  request: HttpRequest
): Promise<T> => {
  const headers: Record<string, string> = { ...request.headers }
  const credential = await resolveCredential(credentials)
  if (credential !== undefined) headers["authorization"] = `Bearer ${credential}`
  if (request.body !== undefined) headers["content-type"] = "application/json"
  const url = endpoints.current
  let response: Response
  try {
    response = await fetchImpl(`${url}${request.path}`, {
      method: request.method,
      headers,
      body: request.body === undefined ? null : JSON.stringify(request.body),
      signal: request.signal ?? null
    })
  } catch (cause) {
    if ((cause as { name?: unknown }).name === "AbortError") throw cause
    endpoints.failed(url)
    throw new SyncKairosError("NETWORK_ERROR", `${url} could not be reached: ${String(cause)}`)
  }
  const text = await response.text()
  let body: unknown
  try {
    body = text === "" ? undefined : JSON.parse(text)
  } catch {
    throw new SyncKairosError("BAD_RESPONSE", `the server answered ${response.status} with something other than JSON`, response.status)
  }
  if (!response.ok) throw failureOf(response.status, body)
  return (body as { data?: T } | undefined)?.data as T
}
