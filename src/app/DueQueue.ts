/**
 * Sessions by the instant they next need the server: a binary min-heap with lazy removal. An entry in
 * the heap counts only while it matches the session's current due instant, so updating or removing a
 * session is O(1) and stale entries are dropped as they surface.
 */
export class DueQueue {
  private heap: Array<{ readonly at: number; readonly id: string }> = []
  private readonly due = new Map<string, number>()

  get size(): number {
    return this.due.size
  }

  set(id: string, at: number): void {
    if (this.due.get(id) === at) return
    this.due.set(id, at)
    this.push({ at, id })
    if (this.heap.length > 2 * this.due.size + 1024) this.rebuild()
  }

  /** Moves a session earlier, never later: a possibly stale read may cost an early look, never a late one. */
  lower(id: string, at: number): void {
    const current = this.due.get(id)
    if (current === undefined || at < current) this.set(id, at)
  }

  delete(id: string): void {
    this.due.delete(id)
  }

  /** The earliest due instant, if any. */
  peek(): number | undefined {
    this.dropStale()
    return this.heap[0]?.at
  }

  /** Removes and returns every session due at or before `now`. */
  takeDue(now: number): Array<string> {
    const ids: Array<string> = []
    for (let top = this.peek(); top !== undefined && top <= now; top = this.peek()) {
      const { id } = this.pop()!
      this.due.delete(id)
      ids.push(id)
    }
    return ids
  }

  private dropStale(): void {
    while (this.heap.length > 0 && this.due.get(this.heap[0]!.id) !== this.heap[0]!.at) this.pop()
  }

  private rebuild(): void {
    this.heap = []
    for (const [id, at] of this.due) this.push({ at, id })
  }

  private push(entry: { readonly at: number; readonly id: string }): void {
    const heap = this.heap
    heap.push(entry)
    let i = heap.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (heap[parent]!.at <= entry.at) break
      heap[i] = heap[parent]!
      i = parent
    }
    heap[i] = entry
  }

  private pop(): { readonly at: number; readonly id: string } | undefined {
    const heap = this.heap
    const top = heap[0]
    const last = heap.pop()
    if (top === undefined || last === undefined || heap.length === 0) return top
    let i = 0
    for (;;) {
      const left = 2 * i + 1
      if (left >= heap.length) break
      const right = left + 1
      const child = right < heap.length && heap[right]!.at < heap[left]!.at ? right : left
      if (heap[child]!.at >= last.at) break
      heap[i] = heap[child]!
      i = child
    }
    heap[i] = last
    return top
  }
}
