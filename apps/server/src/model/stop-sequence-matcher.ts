/**
 * Streams text while watching for stop sequences: text that might be the start of a stop
 * sequence is held back until the next token decides, so a stop string never leaks to the client.
 */
export class StopSequenceMatcher {
  private pending = "";
  private stopped = false;

  constructor(private readonly stops: readonly string[]) {}

  get hasStopped(): boolean {
    return this.stopped;
  }

  /** Adds generated text; returns what can be sent now (possibly ""). */
  push(text: string): string {
    if (this.stopped) return "";
    this.pending += text;
    let cut = -1;
    for (const stop of this.stops) {
      if (stop.length === 0) continue;
      const index = this.pending.indexOf(stop);
      if (index >= 0 && (cut < 0 || index < cut)) cut = index;
    }
    if (cut >= 0) {
      this.stopped = true;
      const out = this.pending.slice(0, cut);
      this.pending = "";
      return out;
    }
    const hold = this.heldSuffixLength();
    const out = this.pending.slice(0, this.pending.length - hold);
    this.pending = this.pending.slice(this.pending.length - hold);
    return out;
  }

  /** Text still held back when generation ends for another reason. */
  flush(): string {
    const out = this.stopped ? "" : this.pending;
    this.pending = "";
    return out;
  }

  /** Longest suffix of pending text that is a proper prefix of some stop sequence. */
  private heldSuffixLength(): number {
    let longest = 0;
    for (const stop of this.stops) {
      const limit = Math.min(stop.length - 1, this.pending.length);
      for (let length = limit; length > longest; length--) {
        if (this.pending.endsWith(stop.slice(0, length))) {
          longest = length;
          break;
        }
      }
    }
    return longest;
  }
}
