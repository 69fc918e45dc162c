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

export class MetricsRegistry {
  private readonly families = new Map<string, Counter | Gauge | Histogram>();

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

  /** The value of one counter or gauge child, for tests and health checks. */
  value(name: string, ...labels: string[]): number {
    const family = this.families.get(this.prefix + name);
    if (!family || family.kind === 'histogram') return 0;
    for (const { labels: l, child } of family.entries())
      if (l.join('\u0000') === labels.join('\u0000')) return child.value;
    return 0;
  }

  render(): string {
    const lines: string[] = [];
    for (const family of this.families.values()) {
      if (family instanceof Gauge) family.collect?.();
      lines.push(`# HELP ${family.name} ${family.help}`, `# TYPE ${family.name} ${family.kind}`);
      if (family instanceof Histogram) {
        for (const { labels, child } of family.entries()) {
          let cumulative = 0;
          child.buckets.forEach((bound, i) => {
            cumulative += child.counts[i]!;
            lines.push(
              `${family.name}_bucket${formatLabels(family.labelNames, labels, `le="${formatNumber(bound)}"`)} ${cumulative}`,
            );
          });
          lines.push(`${family.name}_bucket${formatLabels(family.labelNames, labels, 'le="+Inf"')} ${child.count}`);
          lines.push(`${family.name}_sum${formatLabels(family.labelNames, labels)} ${formatNumber(child.sum)}`);
          lines.push(`${family.name}_count${formatLabels(family.labelNames, labels)} ${child.count}`);
        }
      } else {
        for (const { labels, child } of family.entries())
          lines.push(`${family.name}${formatLabels(family.labelNames, labels)} ${formatNumber(child.value)}`);
      }
    }
    return lines.join('\n') + '\n';
  }
}
