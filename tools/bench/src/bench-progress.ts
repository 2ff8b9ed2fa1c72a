/** One-line progress on stderr ("[3/40] 12 s  fibquant d=128 …"), so stdout keeps only the tables. */
export class BenchProgress {
  private done = 0;
  private readonly started = performance.now();

  constructor(private readonly total: number) {}

  step(label: string): void {
    this.done += 1;
    const seconds = ((performance.now() - this.started) / 1000).toFixed(0);
    process.stderr.write(`[${this.done}/${this.total}] ${seconds} s  ${label}\n`);
  }
}

/** Calls `action` repeatedly for at least `minimumMilliseconds` (and at least twice); returns calls per second. */
export function measureRate(action: () => void, minimumMilliseconds = 150): number {
  action(); // warm-up
  let calls = 0;
  const started = performance.now();
  let elapsed = 0;
  while (elapsed < minimumMilliseconds || calls < 2) {
    action();
    calls += 1;
    elapsed = performance.now() - started;
  }
  return (calls * 1000) / elapsed;
}
