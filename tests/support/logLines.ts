/** The one shape of the service's log lines, as tests check it. */

const LEVELS = ["fatal", "error", "warn", "info", "debug", "trace"]

export const linesOf = (output: string): Array<string> => output.split("\n").filter((line) => line !== "")

/** The lines of `output` that are not one JSON object with a level word, `time` in ms, `msg` and `component`. */
export const malformedLines = (output: string): Array<string> =>
  linesOf(output).filter((line) => {
    try {
      const parsed = JSON.parse(line) as Record<string, unknown>
      return !LEVELS.includes(String(parsed["level"])) || typeof parsed["time"] !== "number" || typeof parsed["msg"] !== "string" ||
        typeof parsed["component"] !== "string"
    } catch {
      return true
    }
  })
