import { createHash } from "node:crypto"
import type { LogEntry } from "../streamEntries.ts"
import { compareStreamIds, streamIdMs } from "../streamIds.ts"

/** One committed event as the audit stores it. */
export interface AuditEvent {
  readonly sessionId: string
  /** Which session of this id (see LogEntry). */
  readonly incarnation: string
  readonly version: number
  /** Id in the session's own stream, what clients see. */
  readonly eventId: string
  readonly type: string
  /** Epoch ms. */
  readonly at: number
  /** JSON. */
  readonly payload: string
}

/** A session's snapshot as Redis held it when its batch was made. */
export interface AuditSnapshot {
  readonly sessionId: string
  readonly incarnation: string
  readonly version: number
  /** Snapshot JSON. */
  readonly state: string
}

/**
 * What one job carries from a shard log to PostgreSQL: the events, and per session its snapshot as
 * Redis held it when the batch was made (the log carries events only; a deleted session has none).
 */
export interface AuditBatch {
  readonly events: ReadonlyArray<AuditEvent>
  readonly snapshots: ReadonlyArray<AuditSnapshot>
}

/**
 * Orders the events of one session id: by incarnation (the id of the session's first event,
 * which a later session of the id always exceeds), then by version.
 */
export const compareEventOrder = (
  a: { readonly incarnation: string; readonly version: number },
  b: { readonly incarnation: string; readonly version: number }
): number => compareStreamIds(a.incarnation, b.incarnation) || a.version - b.version

/**
 * The batch of these entries, with the current snapshots of their sessions. A snapshot of another
 * incarnation than the newest one of its session in the entries is left out: it belongs to a session
 * created again since, whose events a later batch carries with it.
 */
export const batchOf = (entries: ReadonlyArray<LogEntry>, current: ReadonlyArray<AuditSnapshot>): AuditBatch => {
  const newest = new Map<string, string>()
  for (const entry of entries) {
    const seen = newest.get(entry.sessionId)
    if (seen === undefined || compareStreamIds(seen, entry.incarnation) < 0) newest.set(entry.sessionId, entry.incarnation)
  }
  return {
    events: entries.map((e) => ({
      sessionId: e.sessionId,
      incarnation: e.incarnation,
      version: e.version,
      eventId: e.eventId,
      type: e.type,
      at: e.at,
      payload: e.payload
    })),
    snapshots: current.filter((snapshot) => newest.get(snapshot.sessionId) === snapshot.incarnation)
  }
}

/** Entries of one shard log that go to the audit together. */
export interface ShardRange {
  readonly shard: number
  readonly entries: ReadonlyArray<LogEntry>
}

/**
 * The same ranges of the same logs always make the same job id, so a batch handed off again (its
 * consumer died before acknowledging) is ignored by BullMQ while the first job exists; ranges that
 * differ make another id. The id leads with the oldest entry's log id (the job's age, see
 * jobOldestMs), then a digest of every range. Shard log ids hold no ":" and the id is never all
 * digits, as BullMQ requires.
 */
export const jobIdOf = (ranges: ReadonlyArray<ShardRange>): string => {
  const firsts = ranges.map(({ entries }) => entries[0]?.logId ?? "0-0")
  const bounds = ranges.map(({ shard, entries }, i) => `${shard}:${firsts[i]}:${entries.at(-1)?.logId ?? "0-0"}`)
  const oldest = firsts.reduce((a, b) => compareStreamIds(a, b) <= 0 ? a : b)
  return `b_${oldest}_${createHash("sha1").update(bounds.join(",")).digest("hex").slice(0, 16)}`
}

/** The commit time of the oldest event of the job `jobId` names (jobs of earlier releases too: `<shard>_<first>_<last>`). */
export const jobOldestMs = (jobId: string): number => streamIdMs(jobId.split("_")[1] ?? "0-0")
