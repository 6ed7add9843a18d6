// A bounded FIFO on a fixed array (no shifting, no allocation per push).
//
//   capacity 4:  [ a | b | c | _ ]   head=0, size=3 → push d lands at (head+size)%4 = 3
//                [ _ | b | c | d ]   shift() took a: head=1, size=3
export class RingQueue<T> {
  private readonly items: Array<T | undefined>;
  private head = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 0) throw new RangeError(`RingQueue capacity ${capacity}`);
    this.items = new Array<T | undefined>(capacity);
  }

  get size(): number {
    return this.count;
  }
  get full(): boolean {
    return this.count === this.capacity;
  }

  /** Adds at the tail; false when full. */
  push(item: T): boolean {
    if (this.count === this.capacity) return false;
    this.items[(this.head + this.count) % this.capacity] = item;
    this.count++;
    return true;
  }

  /** The oldest item, or undefined. */
  peek(): T | undefined {
    return this.count === 0 ? undefined : this.items[this.head];
  }

  /** Removes and returns the oldest item, or undefined. */
  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) % this.capacity;
    this.count--;
    return item;
  }

  /** Removes `item` wherever it is, keeping the others' order; false when absent. O(size). */
  remove(item: T): boolean {
    let at = -1;
    for (let i = 0; i < this.count; i++)
      if (this.items[(this.head + i) % this.capacity] === item) {
        at = i;
        break;
      }
    if (at < 0) return false;
    for (let i = at; i < this.count - 1; i++) {
      this.items[(this.head + i) % this.capacity] = this.items[(this.head + i + 1) % this.capacity];
    }
    this.items[(this.head + this.count - 1) % this.capacity] = undefined;
    this.count--;
    return true;
  }
}
