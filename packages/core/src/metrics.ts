/**
 * A small Prometheus registry. Hot paths hold a child (one label set) and bump a plain number, so counting a
 * line costs an addition, not a label lookup. `render()` writes the text exposition format.
 */

type Labels = readonly string[];

export class CounterChild {
  value = 0;
  inc(by = 1): void {
    this.value += by;
  }
}

export class GaugeChild {
  value = 0;
  set(value: number): void {
    this.value = value;
  }
  inc(by = 1): void {
    this.value += by;
  }
  dec(by = 1): void {
    this.value -= by;
  }
}

export class HistogramChild {
  readonly counts: number[];
  sum = 0;
  count = 0;
  constructor(readonly buckets: readonly number[]) {
    this.counts = new Array<number>(buckets.length).fill(0);
  }
  observe(value: number): void {
    this.sum += value;
    this.count++;
    for (let i = 0; i < this.buckets.length; i++) {
      if (value <= this.buckets[i]!) {
        this.counts[i]!++;
        return;
      }
    }
  }
}

type Kind = 'counter' | 'gauge' | 'histogram';

abstract class Family<Child> {
  private readonly children = new Map<string, { labels: Labels; child: Child }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: Labels,
  ) {}
  protected abstract make(): Child;
  abstract readonly kind: Kind;

  /** The child for one set of label values, created on first use. Keep it: it is the cheap handle. */
  labels(...values: string[]): Child {
    if (values.length !== this.labelNames.length)
      throw new Error(`${this.name}: expected labels ${this.labelNames.join(',')}, got ${values.length}`);
    const id = values.join('\u0000');
    let entry = this.children.get(id);
    if (!entry) {
      entry = { labels: values, child: this.make() };
      this.children.set(id, entry);
    }
    return entry.child;
  }

  entries(): Iterable<{ labels: Labels; child: Child }> {
    return this.children.values();
  }
}

export class Counter extends Family<CounterChild> {
  readonly kind = 'counter';
  protected make(): CounterChild {
    return new CounterChild();
  }
  inc(by = 1): void {
    this.labels().inc(by);
  }
  get value(): number {
    return this.labels().value;
  }
}

export class Gauge extends Family<GaugeChild> {
  readonly kind = 'gauge';
  collect?: () => void;
  protected make(): GaugeChild {
    return new GaugeChild();
  }
  set(value: number): void {
    this.labels().set(value);
  }
}

export class Histogram extends Family<HistogramChild> {
  readonly kind = 'histogram';
  constructor(
    name: string,
    help: string,
    labelNames: Labels,
    readonly buckets: readonly number[],
  ) {
    super(name, help, labelNames);
  }
  protected make(): HistogramChild {
    return new HistogramChild(this.buckets);
  }
  observe(value: number): void {
    this.labels().observe(value);
  }
}

function formatLabels(names: Labels, values: Labels, extra?: string): string {
  const parts = names.map((name, i) => `${name}="${escapeLabel(values[i]!)}"`);
  if (extra) parts.push(extra);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function formatNumber(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/** One family's children as plain data: what a worker thread sends its parent to be merged there. */
export interface FamilySnapshot {
  name: string;
  help: string;
  kind: Kind;
  labelNames: string[];
  buckets?: number[];
  children: ChildSnapshot[];
}

interface ChildSnapshot {
  labels: string[];
  /** A counter's or gauge's value; a histogram's is in counts, sum and count. */
  value: number;
  counts?: number[];
  sum?: number;
  count?: number;
}

export type MetricsSnapshot = FamilySnapshot[];

function childSnapshot(labels: Labels, child: CounterChild | GaugeChild | HistogramChild): ChildSnapshot {
  if (child instanceof HistogramChild)
    return { labels: [...labels], value: 0, counts: [...child.counts], sum: child.sum, count: child.count };
  return { labels: [...labels], value: child.value };
}

/** Adds `from` into `into` (same family, same label values). */
function addChild(into: ChildSnapshot, from: ChildSnapshot): void {
  into.value += from.value;
  if (into.counts && from.counts) {
    from.counts.forEach((n, i) => (into.counts![i] = (into.counts![i] ?? 0) + n));
    into.sum = (into.sum ?? 0) + (from.sum ?? 0);
    into.count = (into.count ?? 0) + (from.count ?? 0);
  }
}

export class MetricsRegistry {
  private readonly families = new Map<string, Counter | Gauge | Histogram>();
  /** The last snapshot of each other registry merged into this one (worker threads), by source. */
  private readonly absorbed = new Map<string, MetricsSnapshot>();

  constructor(readonly prefix = 'carillon_') {}

  counter(name: string, help: string, labelNames: Labels = []): Counter {
    return this.register(new Counter(this.prefix + name, help, labelNames));
  }

  /** A gauge; `collect` runs before each render, for values read from elsewhere (queue depths, memory). */
  gauge(name: string, help: string, labelNames: Labels = [], collect?: (gauge: Gauge) => void): Gauge {
    const gauge = this.register(new Gauge(this.prefix + name, help, labelNames));
    if (collect) gauge.collect = () => collect(gauge);
    return gauge;
  }

  histogram(name: string, help: string, buckets: readonly number[], labelNames: Labels = []): Histogram {
    return this.register(new Histogram(this.prefix + name, help, labelNames, buckets));
  }

  private register<F extends Counter | Gauge | Histogram>(family: F): F {
    const existing = this.families.get(family.name);
    if (existing) {
      if (existing.kind !== family.kind) throw new Error(`metric ${family.name} registered twice as different kinds`);
      return existing as F;
    }
    this.families.set(family.name, family);
    return family;
  }

  /**
   * Merges another registry's snapshot into what this one reports, replacing that source's previous one: counters
   * and histograms are summed per label set, and so are gauges (every merged gauge is a count: connections,
   * queued batches, bytes).
   */
  absorb(source: string, snapshot: MetricsSnapshot): void {
    this.absorbed.set(source, snapshot);
  }

  /** Every family as plain data (gauges collected first), merged sources included. */
  snapshot(): MetricsSnapshot {
    const merged = new Map<string, { family: FamilySnapshot; byLabels: Map<string, ChildSnapshot> }>();
    const add = (family: Omit<FamilySnapshot, 'children'>, children: Iterable<ChildSnapshot>): void => {
      let entry = merged.get(family.name);
      if (!entry) {
        entry = { family: { ...family, children: [] }, byLabels: new Map() };
        merged.set(family.name, entry);
      }
      for (const child of children) {
        const id = child.labels.join('\u0000');
        const existing = entry.byLabels.get(id);
        if (existing) addChild(existing, child);
        else {
          // A copy: adding later sources must not change the snapshot it came from.
          const copy = { ...child, counts: child.counts && [...child.counts] };
          entry.byLabels.set(id, copy);
          entry.family.children.push(copy);
        }
      }
    };
    for (const family of this.families.values()) {
      if (family instanceof Gauge) family.collect?.();
      const children = [...family.entries()].map(({ labels, child }) => childSnapshot(labels, child));
      add(
        {
          name: family.name,
          help: family.help,
          kind: family.kind,
          labelNames: [...family.labelNames],
          ...(family instanceof Histogram ? { buckets: [...family.buckets] } : {}),
        },
        children,
      );
    }
    for (const snapshot of this.absorbed.values()) for (const family of snapshot) add(family, family.children);
    return [...merged.values()].map((entry) => entry.family);
  }

  /** The value of one counter or gauge child (merged sources included), for tests and health checks. */
  value(name: string, ...labels: string[]): number {
    const id = labels.join('\u0000');
    let total = 0;
    const family = this.families.get(this.prefix + name);
    if (family && family.kind !== 'histogram')
      for (const { labels: l, child } of family.entries()) if (l.join('\u0000') === id) total += child.value;
    for (const snapshot of this.absorbed.values())
      for (const f of snapshot)
        if (f.name === this.prefix + name && f.kind !== 'histogram')
          for (const child of f.children) if (child.labels.join('\u0000') === id) total += child.value;
    return total;
  }

  render(): string {
    const lines: string[] = [];
    for (const family of this.snapshot()) {
      lines.push(`# HELP ${family.name} ${family.help}`, `# TYPE ${family.name} ${family.kind}`);
      if (family.kind === 'histogram') {
        const buckets = family.buckets ?? [];
        for (const child of family.children) {
          let cumulative = 0;
          buckets.forEach((bound, i) => {
            cumulative += child.counts?.[i] ?? 0;
            lines.push(
              `${family.name}_bucket${formatLabels(family.labelNames, child.labels, `le="${formatNumber(bound)}"`)} ${cumulative}`,
            );
          });
          lines.push(
            `${family.name}_bucket${formatLabels(family.labelNames, child.labels, 'le="+Inf"')} ${child.count}`,
          );
          lines.push(
            `${family.name}_sum${formatLabels(family.labelNames, child.labels)} ${formatNumber(child.sum ?? 0)}`,
          );
          lines.push(`${family.name}_count${formatLabels(family.labelNames, child.labels)} ${child.count}`);
        }
      } else {
        for (const child of family.children)
          lines.push(`${family.name}${formatLabels(family.labelNames, child.labels)} ${formatNumber(child.value)}`);
      }
    }
    return lines.join('\n') + '\n';
  }
}
