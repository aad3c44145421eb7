// A binary min-heap of timed events for the simulator: earliest first, equal times in insertion order.

export interface Timed {
  t: number;
}

export class EventQueue<T extends Timed> {
  private readonly items: { e: T; seq: number }[] = [];
  private seq = 0;

  get size(): number {
    return this.items.length;
  }

  push(e: T): void {
    const a = this.items;
    a.push({ e, seq: this.seq++ });
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }

  pop(): T | undefined {
    const a = this.items;
    if (a.length === 0) return undefined;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.less(a[l]!, a[m]!)) m = l;
        if (r < a.length && this.less(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top.e;
  }

  private less(a: { e: T; seq: number }, b: { e: T; seq: number }): boolean {
    return a.e.t < b.e.t || (a.e.t === b.e.t && a.seq < b.seq);
  }
}
