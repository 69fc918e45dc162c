// Shared timing for bench modules (not itself a bench: the runner only picks up `*.bench.ts`).

/**
 * Runs `pass` (which performs `opsPerPass` operations) repeatedly for at least `ms` after a short warm-up, and
 * returns operations per second.
 */
export function opsPerSecond(opsPerPass: number, pass: () => void, ms: number): number {
  for (let i = 0; i < 3; i++) pass(); // warm up the JIT
  let passes = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < ms) {
    pass();
    passes++;
    elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  }
  return (opsPerPass * passes) / (elapsed / 1000);
}
