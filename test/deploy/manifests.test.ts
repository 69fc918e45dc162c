/**
 * The deployment files cannot be run here (no container runtime), so this checks what can be checked without one:
 * every configuration they give the programs (TOML in ConfigMaps, CARILLON_* variables) is accepted by the real
 * config readers, and the ports, mounts and grace periods agree with that configuration.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { parse as parseToml } from 'smol-toml';
import { ConfigSource, type RawTable } from '@carillon/core';
import { readAccumulatorConfig } from '@carillon/accumulator';
import { readRelayConfig } from '@carillon/relay';

const root = new URL('../../', import.meta.url);

interface Manifest {
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  data?: Record<string, string>;
  spec?: {
    clusterIP?: string;
    publishNotReadyAddresses?: boolean;
    maxUnavailable?: number;
    selector?: { matchLabels?: Record<string, string> } & Record<string, unknown>;
    ports?: { name: string; port: number; targetPort: string }[];
    template?: { metadata: { labels: Record<string, string>; annotations?: Record<string, string> }; spec: PodSpec };
  };
}
interface Container {
  args: string[];
  securityContext?: { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean };
  env?: { name: string; value?: string }[];
  ports: { containerPort: number; protocol?: string }[];
  volumeMounts: { name: string; mountPath: string }[];
  readinessProbe?: { httpGet?: { path: string } };
  livenessProbe?: { httpGet?: { path: string } };
}
interface PodSpec {
  terminationGracePeriodSeconds?: number;
  securityContext?: { runAsUser?: number; runAsNonRoot?: boolean; fsGroup?: number };
  topologySpreadConstraints?: { topologyKey: string; labelSelector: { matchLabels: Record<string, string> } }[];
  containers: Container[];
  volumes: { name: string; configMap?: { name: string } }[];
}

function manifests(file: string): Manifest[] {
  const text = readFileSync(new URL(`deploy/kubernetes/${file}`, root), 'utf8');
  return parseAllDocuments(text).map((doc) => doc.toJS() as Manifest);
}

function configMapToml(name: string): RawTable {
  const map = manifests('config.yaml').find((m) => m.kind === 'ConfigMap' && m.metadata.name === name);
  return parseToml(map!.data!['carillon.toml']!) as RawTable;
}

function podSpec(file: string, kind: string): PodSpec {
  return manifests(file).find((m) => m.kind === kind)!.spec!.template!.spec;
}

/** Environment as the pod gets it, with $(VAR) references expanded from earlier entries. */
function podEnv(container: Container, fieldValues: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { name, value } of container.env ?? []) {
    env[name] = value === undefined ? fieldValues[name]! : value.replace(/\$\((\w+)\)/g, (_, v: string) => env[v]!);
  }
  return env;
}

describe('Kubernetes manifests', () => {
  it('accumulator pods start with a configuration the accumulator accepts', () => {
    const spec = podSpec('accumulator.yaml', 'StatefulSet');
    const container = spec.containers[0]!;
    expect(container.args).toEqual(['services/accumulator/dist/main.js', '--config', '/etc/carillon/carillon.toml']);
    const env = podEnv(container, { POD_NAME: 'carillon-accumulator-1', POD_NAMESPACE: 'metrics' });
    const config = readAccumulatorConfig(new ConfigSource(configMapToml('carillon-accumulator'), env));
    expect(config.member.id).toBe('carillon-accumulator-1');
    expect(config.member.address).toBe('carillon-accumulator-1.carillon-accumulator.metrics.svc:7000');
    expect(config.node.store).toBe('cassandra');
    // The ports the pod exposes are the ones the program listens on.
    expect(container.ports.map((p) => p.containerPort).sort()).toEqual(
      [config.grpc.listen.port, config.node.http.listen!.port].sort(),
    );
    // Leaving the ring can take until the next coarsest boundary: the pod must be given that long.
    expect(spec.terminationGracePeriodSeconds! * 1000).toBeGreaterThanOrEqual(config.shutdown.maxWaitMs);
    // The watermark file is on the pod's volume.
    expect(container.volumeMounts.find((m) => m.name === 'data')?.mountPath).toBe(config.node.whisper.dataDir);
  });

  it('relay pods start with a configuration the relay accepts, on the ports they expose', () => {
    const spec = podSpec('relay.yaml', 'Deployment');
    const container = spec.containers[0]!;
    expect(container.args).toEqual(['services/relay/dist/main.js', '--config', '/etc/carillon/carillon.toml']);
    expect(spec.volumes.find((v) => v.name === 'config')?.configMap?.name).toBe('carillon-relay');
    const config = readRelayConfig(new ConfigSource(configMapToml('carillon-relay'), {}));
    const exposed = container.ports.map((p) => `${p.protocol ?? 'TCP'}:${p.containerPort}`).sort();
    const listening = [
      `TCP:${config.graphite.tcp!.port}`,
      `UDP:${config.graphite.udp!.port}`,
      `UDP:${config.statsd.udp!.port}`,
      `TCP:${config.statsd.tcp!.port}`,
      `TCP:${config.http.listen!.port}`,
    ].sort();
    expect(exposed).toEqual(listening);
  });

  for (const [file, kind, component, httpKey] of [
    ['accumulator.yaml', 'StatefulSet', 'accumulator', 'accumulator'],
    ['relay.yaml', 'Deployment', 'relay', 'relay'],
  ] as const)
    it(`${component} pods: non-root on a read-only root, spread over nodes, scraped, and covered by a PDB`, () => {
      const all = manifests(file);
      const workload = all.find((m) => m.kind === kind)!;
      const template = workload.spec!.template!;
      const labels = template.metadata.labels;
      const spec = template.spec;
      const container = spec.containers[0]!;
      // The image runs as `node` (uid 1000, deploy/Dockerfile): the pod must run as it, and own its volume.
      expect(readFileSync(new URL('deploy/Dockerfile', root), 'utf8')).toMatch(/^USER node$/m);
      expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
      if (component === 'accumulator') expect(spec.securityContext?.fsGroup).toBe(1000);
      expect(container.securityContext).toMatchObject({
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
      });
      expect(spec.topologySpreadConstraints?.[0]?.topologyKey).toBe('kubernetes.io/hostname');
      expect(spec.topologySpreadConstraints?.[0]?.labelSelector.matchLabels).toEqual(labels);
      const pdb = all.find((m) => m.kind === 'PodDisruptionBudget');
      expect(pdb?.spec?.maxUnavailable).toBe(1);
      expect(pdb?.spec?.selector?.matchLabels).toEqual(labels);
      // Prometheus scrapes /metrics on the port the program serves HTTP on.
      const httpPort =
        httpKey === 'accumulator'
          ? readAccumulatorConfig(
              new ConfigSource(
                configMapToml('carillon-accumulator'),
                podEnv(container, { POD_NAME: 'p', POD_NAMESPACE: 'n' }),
              ),
            ).node.http.listen!.port
          : readRelayConfig(new ConfigSource(configMapToml('carillon-relay'), {})).http.listen!.port;
      expect(template.metadata.annotations).toEqual({
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': String(httpPort),
        'prometheus.io/path': '/metrics',
      });
    });

  it("the relays' Service carries their HTTP port: the Graphite API URL Grafana reads", () => {
    const service = manifests('relay.yaml').find((m) => m.kind === 'Service' && m.metadata.name === 'carillon-relay');
    const config = readRelayConfig(new ConfigSource(configMapToml('carillon-relay'), {}));
    const ports = service?.spec?.ports;
    expect(ports?.find((p) => p.name === 'http')).toMatchObject({ port: config.http.listen!.port, targetPort: 'http' });
    // Cassandra is shared: the relays read what a member flushed through any other.
    expect(config.query.sharedStore).toBe(true);
    expect(manifests('accumulator.yaml').some((m) => m.metadata.name === 'carillon-graphite')).toBe(false);
  });

  it('the headless accumulator Service keeps a leaving (not ready) pod resolvable', () => {
    const headless = manifests('accumulator.yaml').find(
      (m) => m.kind === 'Service' && m.metadata.name === 'carillon-accumulator',
    );
    expect(headless?.spec?.clusterIP).toBe('None');
    expect(headless?.spec?.publishNotReadyAddresses).toBe(true);
  });

  it('tokens come from the Secret: its placeholders stop the programs, real tokens are taken', () => {
    const secret = manifests('security.yaml').find(
      (m) => m.kind === 'Secret' && m.metadata.name === 'carillon-tokens',
    ) as (Manifest & { stringData: Record<string, string> }) | undefined;
    expect(Object.keys(secret!.stringData).sort()).toEqual(['cluster-token', 'http-token']);
    const fromSecret = (container: Container, data: Record<string, string>): Record<string, string> => {
      const refs = (container.env ?? []) as {
        name: string;
        valueFrom?: { secretKeyRef?: { name: string; key: string } };
      }[];
      const values: Record<string, string> = { POD_NAME: 'carillon-accumulator-0', POD_NAMESPACE: 'metrics' };
      for (const ref of refs) {
        const key = ref.valueFrom?.secretKeyRef;
        if (key) {
          expect(key.name).toBe('carillon-tokens');
          values[ref.name] = data[key.key]!;
        }
      }
      return podEnv(container, values);
    };
    const real = { 'cluster-token': 'a'.repeat(32), 'http-token': 'b'.repeat(32) };
    const accumulator = podSpec('accumulator.yaml', 'StatefulSet').containers[0]!;
    const relay = podSpec('relay.yaml', 'Deployment').containers[0]!;
    const readAcc = (data: Record<string, string>) =>
      readAccumulatorConfig(new ConfigSource(configMapToml('carillon-accumulator'), fromSecret(accumulator, data)));
    const readRelay = (data: Record<string, string>) =>
      readRelayConfig(new ConfigSource(configMapToml('carillon-relay'), fromSecret(relay, data)));
    expect(() => readAcc(secret!.stringData)).toThrow(/(cluster|http)\.token: must be at least 16/);
    expect(() => readRelay(secret!.stringData)).toThrow(/(cluster|http)\.token: must be at least 16/);
    expect(readAcc(real).cluster.token).toBe(real['cluster-token']);
    expect(readAcc(real).node.http.security.token).toBe(real['http-token']);
    expect(readRelay(real).cluster.token).toBe(real['cluster-token']);
    expect(readRelay(real).http.security.token).toBe(real['http-token']);
  });

  it('relays and accumulators agree on the ring (times, Redis, propagation delay)', () => {
    const relay = configMapToml('carillon-relay');
    const accumulator = configMapToml('carillon-accumulator');
    expect(relay.times).toEqual(accumulator.times);
    expect(relay.ring).toEqual(accumulator.ring);
  });
});

describe('docker-compose.yml', () => {
  const compose = parseAllDocuments(readFileSync(new URL('docker-compose.yml', root), 'utf8'), {
    merge: true,
  })[0]!.toJS({
    maxAliasCount: 100,
  }) as {
    services: Record<
      string,
      { command?: string[]; environment?: Record<string, string>; ports?: string[]; healthcheck?: { test: string[] } }
    >;
  };

  it('gives every accumulator and relay an environment its program accepts', () => {
    const accumulators = Object.entries(compose.services).filter(([name]) => name.startsWith('acc-'));
    const relays = Object.entries(compose.services).filter(([name]) => name.startsWith('relay-'));
    expect(accumulators.length).toBe(3);
    expect(relays.length).toBe(2);
    for (const [name, service] of accumulators) {
      const config = readAccumulatorConfig(new ConfigSource({}, service.environment ?? {}));
      expect(config.member.id).toBe(name);
    }
    for (const [, service] of relays)
      expect(() => readRelayConfig(new ConfigSource({}, service.environment ?? {}))).not.toThrow();
  });

  it('probes readiness on /readyz and liveness on /livez', () => {
    for (const spec of [podSpec('accumulator.yaml', 'StatefulSet'), podSpec('relay.yaml', 'Deployment')]) {
      expect(spec.containers[0]!.readinessProbe?.httpGet?.path).toBe('/readyz');
      expect(spec.containers[0]!.livenessProbe?.httpGet?.path).toBe('/livez');
    }
  });

  it('publishes every relay listener and checks the readiness of every program on its own /readyz', () => {
    const relay = compose.services['relay-a']!;
    const config = readRelayConfig(new ConfigSource({}, relay.environment ?? {}));
    const published = (relay.ports ?? []).map((p) => (p.includes('/') ? p : `${p}/tcp`)).sort();
    const listening = [
      `${config.graphite.tcp!.port}:${config.graphite.tcp!.port}/tcp`,
      `${config.graphite.udp!.port}:${config.graphite.udp!.port}/udp`,
      `${config.statsd.udp!.port}:${config.statsd.udp!.port}/udp`,
      `${config.statsd.tcp!.port}:${config.statsd.tcp!.port}/tcp`,
      `${config.http.listen!.port}:${config.http.listen!.port}/tcp`,
    ].sort();
    expect(published).toEqual(listening);
    for (const [name, service] of Object.entries(compose.services)) {
      if (!name.startsWith('acc-') && !name.startsWith('relay-')) continue;
      const port = name.startsWith('acc-')
        ? readAccumulatorConfig(new ConfigSource({}, service.environment ?? {})).node.http.listen!.port
        : readRelayConfig(new ConfigSource({}, service.environment ?? {})).http.listen!.port;
      expect(service.healthcheck?.test.join(' '), name).toContain(`127.0.0.1:${port}/readyz`);
    }
  });
});
