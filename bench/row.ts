// The shape every bench module shares (not itself a bench: the runner only picks up `*.bench.ts`).

/** One printed figure. */
export interface BenchRow {
  name: string;
  value: number;
  unit: string;
  note?: string;
}

/** A bench module's default export. */
export type Bench = () => Promise<BenchRow[]>;
