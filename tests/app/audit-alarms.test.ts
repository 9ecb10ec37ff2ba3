import { describe, expect, it } from "vitest"
import { auditAlarms } from "../../src/app/auditReadiness.ts"

const calm = { lagMs: 0, lagAlarmMs: 30_000, backlogRatio: 0, unreadableShards: [] }

describe("auditAlarms", () => {
  it.each([
    ["nothing wrong", calm, []],
    ["lag at the threshold", { ...calm, lagMs: 30_000 }, []],
    ["lag past the threshold", { ...calm, lagMs: 45_000 }, ["audit_lag"]],
    ["a shard log half full of unaudited entries", { ...calm, backlogRatio: 0.5 }, ["audit_backlog"]],
    ["a log the projector cannot read", { ...calm, unreadableShards: [3, 7] }, ["audit_log_unreadable"]],
    ["all at once", { lagMs: 90_000, lagAlarmMs: 30_000, backlogRatio: 0.9, unreadableShards: [1] }, ["audit_lag", "audit_backlog", "audit_log_unreadable"]]
  ])("%s", (_, state, names) => {
    expect(auditAlarms(state).map((alarm) => alarm.name)).toEqual(names)
  })

  it("names the shards and the lag in its messages", () => {
    expect(auditAlarms({ ...calm, lagMs: 45_000, unreadableShards: [3, 7] }).map((alarm) => alarm.message)).toEqual([
      "audit lag 45 s, over 30 s",
      "the projector cannot read the shard logs 3, 7"
    ])
  })
})
