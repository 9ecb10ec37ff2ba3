import type { FieldIssue } from "../../domain/index.ts"

/**
 * Metadata is copied into the session's state, so into every snapshot, event, live frame and audit
 * row of the session: its size multiplies. The cap is on its JSON encoding, the form it travels in.
 */
export const metadataIssue = (metadata: unknown, maxBytes: number): FieldIssue | undefined => {
  if (metadata === undefined) return undefined
  const bytes = Buffer.byteLength(JSON.stringify(metadata), "utf8")
  return bytes > maxBytes
    ? { field: "metadata", message: `is ${bytes} bytes as JSON, above the limit of ${maxBytes} (METADATA_MAX_BYTES)` }
    : undefined
}
