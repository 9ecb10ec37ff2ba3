/** Redis stream ids, `<ms>-<seq>`: ordered by both parts as numbers, never as strings. */

const parseId = (id: string): [number, number] => {
  const dash = id.indexOf("-")
  return [Number(id.slice(0, dash)), Number(id.slice(dash + 1))]
}

/** The Redis time (epoch ms) at which the entry was appended. */
export const streamIdMs = (id: string): number => parseId(id)[0]

export const compareStreamIds = (a: string, b: string): number => {
  const [aMs, aSeq] = parseId(a)
  const [bMs, bSeq] = parseId(b)
  return aMs === bMs ? aSeq - bSeq : aMs - bMs
}

/** The smallest id after `id`. */
export const nextStreamId = (id: string): string => {
  const [ms, seq] = parseId(id)
  return `${ms}-${seq + 1}`
}
