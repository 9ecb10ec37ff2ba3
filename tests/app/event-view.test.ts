import { describe, expect, it } from "vitest"
import { eventView } from "../../src/app/http/views.ts"

const event = (payload: string) => ({ id: "1796292717833-0", type: "CYCLE_SWITCHED", version: 7, at: 1_796_292_717_833, payload })

describe("eventView", () => {
  it("gives the event's instant both ways and its payload's keys in snake_case, nested ones and arrays' included", () => {
    const view = eventView(event(JSON.stringify({
      fromParticipantId: "a",
      incrementMs: 2000,
      expiredParticipantIds: ["b"],
      nested: { timeUsedMs: 5, inArray: [{ cycleCount: 1 }] }
    })))
    expect(view).toEqual({
      id: "1796292717833-0",
      type: "CYCLE_SWITCHED",
      version: 7,
      at: new Date(1_796_292_717_833).toISOString(),
      at_ms: 1_796_292_717_833,
      payload: {
        from_participant_id: "a",
        increment_ms: 2000,
        expired_participant_ids: ["b"],
        nested: { time_used_ms: 5, in_array: [{ cycle_count: 1 }] }
      }
    })
    expect(Object.keys(view.payload as object)).toEqual(["from_participant_id", "increment_ms", "expired_participant_ids", "nested"])
  })

  it("leaves metadata as the client gave it", () => {
    const view = eventView(event(JSON.stringify({ config: { metadata: { tableId: 4, seatMap: { northSeat: 1 } }, totalTimeMs: 1 } })))
    expect(view.payload).toEqual({ config: { metadata: { tableId: 4, seatMap: { northSeat: 1 } }, total_time_ms: 1 } })
  })

  it("keeps a payload key named __proto__ as a key, never as the object's prototype", () => {
    const view = eventView(event('{"__proto__":{"polluted":true},"okKey":1}'))
    const payload = view.payload as Record<string, unknown>
    expect(Object.getPrototypeOf(payload)).toBe(Object.prototype)
    expect(Object.keys(payload)).toEqual(["__proto__", "ok_key"])
    expect(JSON.stringify(payload)).toBe('{"__proto__":{"polluted":true},"ok_key":1}')
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined()
  })

  it("gives an empty payload as an empty object", () => {
    expect(eventView(event("")).payload).toEqual({})
  })
})
