// Open loop: the free lanes waiting for their next request's due time, earliest first.
// A binary min-heap on Lane.dueMs; each lane knows its own position (heapAt), so nothing
// is allocated per request and a lane can be taken out from anywhere.
//
//   push(a 5) push(b 3) push(c 7)   →   [b3, a5, c7]   pop → b   → [a5, c7]
import type { Lane } from './lane.js';

export class DueHeap {
  private readonly items: Lane[] = [];

  get size(): number {
    return this.items.length;
  }

  /** The lane due first, or undefined. */
  peek(): Lane | undefined {
    return this.items[0];
  }

  push(lane: Lane): void {
    const items = this.items;
    lane.heapAt = items.length;
    items.push(lane);
    this.up(lane.heapAt);
  }

  pop(): Lane | undefined {
    const items = this.items;
    const top = items[0];
    if (top === undefined) return undefined;
    const last = items.pop()!;
    top.heapAt = -1;
    if (last !== top) {
      items[0] = last;
      last.heapAt = 0;
      this.down(0);
    }
    return top;
  }

  clear(): void {
    for (const l of this.items) l.heapAt = -1;
    this.items.length = 0;
  }

  private up(i: number): void {
    const items = this.items;
    const lane = items[i]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent]!;
      if (p.dueMs <= lane.dueMs) break;
      items[i] = p;
      p.heapAt = i;
      i = parent;
    }
    items[i] = lane;
    lane.heapAt = i;
  }

  private down(i: number): void {
    const items = this.items;
    const n = items.length;
    const lane = items[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && items[r]!.dueMs < items[l]!.dueMs ? r : l;
      const child = items[c]!;
      if (child.dueMs >= lane.dueMs) break;
      items[i] = child;
      child.heapAt = i;
      i = c;
    }
    items[i] = lane;
    lane.heapAt = i;
  }
}
