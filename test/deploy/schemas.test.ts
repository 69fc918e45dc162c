/**
 * Every object in deploy/kubernetes validated against the Kubernetes API schemas (the `kubernetes-models`
 * package: the OpenAPI schemas of the Kubernetes release it is built from, compiled to validators). A wrong type,
 * a missing required field or a value outside an enum fails here instead of at `kubectl apply`. The schemas do not
 * forbid unknown fields, so a misspelt optional field is not caught here (the API server warns about it).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

const dir = new URL('../../deploy/kubernetes/', import.meta.url);

interface TypedObject {
  apiVersion: string;
  kind: string;
  metadata?: { name?: string };
}

type ModelClass = new (data: unknown) => { validate(): void };

/** `apps/v1` → `kubernetes-models/apps/v1`; the core group `v1` → `kubernetes-models/v1`. */
async function modelOf(object: TypedObject): Promise<ModelClass> {
  const module = (await import(`kubernetes-models/${object.apiVersion}`)) as Record<string, ModelClass | undefined>;
  const model = module[object.kind];
  if (!model) throw new Error(`no schema for ${object.apiVersion} ${object.kind}`);
  return model;
}

const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));

describe('Kubernetes manifests against the API schemas', () => {
  it('finds the manifests and the kinds carillon ships', () => {
    const kinds = files.flatMap((f) =>
      parseAllDocuments(readFileSync(new URL(f, dir), 'utf8')).map((d) => (d.toJS() as TypedObject).kind),
    );
    for (const kind of [
      'StatefulSet',
      'Deployment',
      'Service',
      'ConfigMap',
      'Secret',
      'NetworkPolicy',
      'PodDisruptionBudget',
    ])
      expect(kinds, kind).toContain(kind);
  });

  for (const file of files)
    it(`${file}: every object is valid`, async () => {
      const documents = parseAllDocuments(readFileSync(new URL(file, dir), 'utf8'));
      expect(documents.length).toBeGreaterThan(0);
      for (const document of documents) {
        expect(document.errors, file).toEqual([]);
        const object = document.toJS() as TypedObject;
        const Model = await modelOf(object);
        expect(() => new Model(object).validate(), `${object.kind} ${object.metadata?.name}`).not.toThrow();
      }
    });

  it('refuses an invalid object (the validation is live)', async () => {
    const Model = await modelOf({ apiVersion: 'apps/v1', kind: 'Deployment' });
    const broken = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'broken' },
      spec: { replicas: 'two', selector: {}, template: { spec: { containers: [{ image: 'x' }] } } },
    };
    expect(() => new Model(broken).validate()).toThrow(/replicas must be integer|must have required property/);
  });
});
