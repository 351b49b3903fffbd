/**
 * infra/ against the code and against the schemas of what it deploys to:
 *  - every Kustomize overlay renders, and every object matches the Kubernetes schemas (strict, two
 *    versions); KEDA objects match a schema written from KEDA's documented fields;
 *  - one worker Deployment per task queue of core/names.ts, each running a command line the real
 *    CLI accepts, with environment variables the code (or Temporal's envconfig) actually reads;
 *  - KEDA watches the queue its Deployment serves, at the address and namespace the workers use;
 *  - the compose stack matches the Compose Specification and the same names; the CI templates
 *    match the GitHub Actions and GitLab CI schemas;
 *  - the setup scripts that register the search attributes do so on a real Temporal server;
 *  - the Temporal Helm values put both stores on PostgreSQL;
 *  - Terraform parses, every reference is declared, templates get exactly their variables (and
 *    `terraform validate` passes where terraform and the AWS provider are installed);
 *  - the workers' IAM policy allows exactly the AWS actions the code calls, on scoped resources.
 * Missing validators skip locally and fail in CI (DRIFTLINE_REQUIRE_INFRA_TOOLS=1 / CI=true).
 */
import type { Command } from 'commander';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { SEARCH_ATTRIBUTE_FLAGS, TASK_QUEUES } from '../core/names.ts';
import { allowedActions, asList, renderTemplate, requiredActions, templatePlaceholders, type PolicyDocument } from './helpers/aws-iam.ts';
import {
  INFRA_TOOLS_REQUIRED,
  REPO_ROOT,
  awsCalls,
  codeFiles,
  envNamesInCode,
  findKustomize,
  findTerraform,
  findValidatorPython,
  parseYamlDocuments,
  readRepoFile,
  renderOverlay,
  runValidators,
  temporalEnvconfigNames,
  type K8sObject,
} from './helpers/infra.ts';

// scripts/cli/main.ts runs the CLI when imported unless told not to.
process.env.DRIFTLINE_CLI_NO_MAIN = '1';

const OVERLAYS = ['self-hosted', 'temporal-cloud-api-key', 'temporal-cloud-mtls', 'sagemaker-training', 'gpu-training-prometheus'] as const;
/** Oldest Kubernetes still commonly run on managed clusters, and the newest the validator knows. */
const KUBERNETES_VERSIONS = ['1.30.0', '1.37.0'];
/**
 * Variables the manifests set for the production worker that the code on this branch does not read
 * yet (the health/metrics server). Listed here so that each one is a decision, not an accident.
 */
const ASSUMED_FROM_PRODUCTION_WORKER = new Set(['DRIFTLINE_HEALTH_PORT']);
const REQUIRED_WORKER_ENV = ['TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'DATABASE_URL'];

const kustomize = findKustomize();
const python = findValidatorPython();
const terraform = findTerraform();

function missing(tool: string, how: string): string {
  return `missing: ${tool} (${how})`;
}
/** Locally a missing tool skips the test that needs it; in CI it is a failure, never a pass. */
function toolTest(available: unknown, tool: string, how: string): (name: string, fn: () => unknown) => void {
  if (available) return (name, fn) => it(name, fn);
  if (INFRA_TOOLS_REQUIRED) return (name) => it(name, () => expect.fail(`${missing(tool, how)} but DRIFTLINE_REQUIRE_INFRA_TOOLS=1 or CI=true`));
  return (name, fn) => it.skip(name, fn);
}
const withKustomize = toolTest(kustomize, 'kustomize', 'run bash scripts/setup-infra-tools.sh');
const withPython = toolTest(python, 'the Python validators', 'run bash scripts/setup-python.sh');
const withBoth = toolTest(kustomize && python, 'kustomize and the Python validators', 'run bash scripts/setup-python.sh and scripts/setup-infra-tools.sh');

const rendered = new Map<string, K8sObject[]>();
function overlay(name: string): K8sObject[] {
  if (!rendered.has(name)) rendered.set(name, renderOverlay(kustomize!, name));
  return rendered.get(name)!;
}

type Container = {
  name: string;
  image?: string;
  args?: string[];
  command?: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } } }>;
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
  ports?: Array<{ name?: string; containerPort: number }>;
  resources?: { requests?: Record<string, string | number>; limits?: Record<string, string | number> };
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
  volumeMounts?: Array<{ name: string; mountPath: string }>;
};
type PodSpec = { containers: Container[]; volumes?: Array<{ name: string; secret?: { secretName: string } }>; tolerations?: unknown[] };

function deployments(objects: K8sObject[]): Array<{ name: string; pod: PodSpec; annotations: Record<string, string> }> {
  return objects
    .filter((o) => o.kind === 'Deployment')
    .map((o) => {
      const template = (o.spec as { template: { metadata?: { annotations?: Record<string, string> }; spec: PodSpec } }).template;
      return { name: o.metadata.name, pod: template.spec, annotations: template.metadata?.annotations ?? {} };
    });
}

/** A container's environment as the pod sees it: literal env, secret refs, and ConfigMaps pulled in with envFrom. */
function containerEnv(container: Container, objects: K8sObject[]): Map<string, string | { secret: string; key: string; optional: boolean }> {
  const env = new Map<string, string | { secret: string; key: string; optional: boolean }>();
  for (const source of container.envFrom ?? []) {
    if (!source.configMapRef) continue;
    const map = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === source.configMapRef!.name);
    if (!map) throw new Error(`envFrom names ConfigMap ${source.configMapRef.name}, which the overlay does not contain`);
    for (const [key, value] of Object.entries(map.data ?? {})) env.set(key, value);
  }
  for (const entry of container.env ?? []) {
    const ref = entry.valueFrom?.secretKeyRef;
    env.set(entry.name, ref ? { secret: ref.name, key: ref.key, optional: ref.optional ?? false } : (entry.value ?? ''));
  }
  return env;
}

/** The queues a `driftline …` argument list serves, as the real CLI parses it (nothing runs). */
async function workerQueues(args: string[]): Promise<string[]> {
  const { buildProgram } = await import('../scripts/cli/main.ts');
  const program = buildProgram();
  let captured: string[] | undefined;
  const inert = (command: Command) => {
    command.action((flags: { taskQueue?: string[] }) => {
      if (command.name() === 'worker') captured = flags.taskQueue;
    });
    command.exitOverride();
    for (const sub of command.commands) inert(sub);
  };
  inert(program);
  await program.parseAsync(['node', 'driftline', ...args]);
  if (!captured) throw new Error(`driftline ${args.join(' ')} is not a worker command`);
  return captured;
}

/** Names a variable may have: read by the code, by Temporal's envconfig, or assumed (listed above). */
function envNameProblems(names: Iterable<string>): string[] {
  const sources = codeFiles().map((file) => ({ text: readFileSync(file, 'utf8') }));
  const codeNames = envNamesInCode(sources);
  const temporal = temporalEnvconfigNames();
  return [...names].filter(
    (name) =>
      !codeNames.has(name) &&
      !temporal.names.has(name) &&
      !temporal.prefixes.some((prefix) => name.startsWith(prefix)) &&
      !ASSUMED_FROM_PRODUCTION_WORKER.has(name),
  );
}

// --- KEDA: a schema written from KEDA's documented ScaledObject / TriggerAuthentication fields ----
const intString = z.string().regex(/^\d+$/, 'KEDA metadata values are strings of digits');
const boolString = z.enum(['true', 'false']);
const temporalMetadata = z
  .object({
    endpoint: z.string().optional(),
    endpointFromEnv: z.string().optional(),
    namespace: z.string().optional(),
    namespaceFromEnv: z.string().optional(),
    taskQueue: z.string().optional(),
    taskQueueFromEnv: z.string().optional(),
    queueTypes: z.string().regex(/^(workflow|activity|nexus)(,(workflow|activity|nexus))*$/).optional(),
    targetQueueSize: intString.optional(),
    activationTargetQueueSize: intString.optional(),
    buildId: z.string().optional(),
    selectAllActive: boolString.optional(),
    selectUnversioned: boolString.optional(),
    workerDeploymentName: z.string().optional(),
    workerDeploymentBuildId: z.string().optional(),
    minConnectTimeout: intString.optional(),
    unsafeSsl: boolString.optional(),
    tlsServerName: z.string().optional(),
    enableTLS: boolString.optional(),
  })
  .strict()
  .refine((m) => Boolean(m.endpoint ?? m.endpointFromEnv), 'endpoint or endpointFromEnv is required')
  .refine((m) => Boolean(m.taskQueue ?? m.taskQueueFromEnv), 'taskQueue is required');
const prometheusMetadata = z
  .object({
    serverAddress: z.string().url(),
    query: z.string(),
    threshold: z.string().regex(/^\d+(\.\d+)?$/),
    activationThreshold: z.string().regex(/^\d+(\.\d+)?$/).optional(),
    namespace: z.string().optional(),
    customHeaders: z.string().optional(),
    ignoreNullValues: boolString.optional(),
    unsafeSsl: boolString.optional(),
  })
  .strict();
const authenticationRef = z.object({ name: z.string(), kind: z.enum(['TriggerAuthentication', 'ClusterTriggerAuthentication']).optional() }).strict();
const trigger = z.discriminatedUnion('type', [
  z.object({ type: z.literal('temporal'), name: z.string().optional(), metadata: temporalMetadata, authenticationRef: authenticationRef.optional() }).strict(),
  z.object({ type: z.literal('prometheus'), name: z.string().optional(), metadata: prometheusMetadata, authenticationRef: authenticationRef.optional() }).strict(),
]);
const scaledObject = z
  .object({
    apiVersion: z.literal('keda.sh/v1alpha1'),
    kind: z.literal('ScaledObject'),
    metadata: z.object({ name: z.string(), namespace: z.string(), labels: z.record(z.string(), z.string()).optional() }).strict(),
    spec: z
      .object({
        scaleTargetRef: z.object({ name: z.string(), apiVersion: z.string().optional(), kind: z.string().optional(), envSourceContainerName: z.string().optional() }).strict(),
        pollingInterval: z.number().int().positive().optional(),
        cooldownPeriod: z.number().int().nonnegative().optional(),
        initialCooldownPeriod: z.number().int().nonnegative().optional(),
        idleReplicaCount: z.number().int().nonnegative().optional(),
        minReplicaCount: z.number().int().nonnegative().optional(),
        maxReplicaCount: z.number().int().positive().optional(),
        fallback: z.object({ failureThreshold: z.number().int().positive(), replicas: z.number().int().nonnegative() }).strict().optional(),
        advanced: z
          .object({
            restoreToOriginalReplicaCount: z.boolean().optional(),
            // `behavior` is the HPA's own field: checked against the Kubernetes schema below.
            horizontalPodAutoscalerConfig: z.object({ name: z.string().optional(), behavior: z.record(z.string(), z.unknown()).optional() }).strict().optional(),
          })
          .strict()
          .optional(),
        triggers: z.array(trigger).min(1),
      })
      .strict()
      .refine((s) => (s.minReplicaCount ?? 0) <= (s.maxReplicaCount ?? 100), 'minReplicaCount exceeds maxReplicaCount'),
  })
  .strict();
const triggerAuthentication = z
  .object({
    apiVersion: z.literal('keda.sh/v1alpha1'),
    kind: z.literal('TriggerAuthentication'),
    metadata: z.object({ name: z.string(), namespace: z.string(), labels: z.record(z.string(), z.string()).optional() }).strict(),
    spec: z
      .object({
        secretTargetRef: z.array(z.object({ parameter: z.string(), name: z.string(), key: z.string() }).strict()).optional(),
        env: z.array(z.object({ parameter: z.string(), name: z.string(), containerName: z.string().optional() }).strict()).optional(),
      })
      .strict(),
  })
  .strict();
/** Authentication parameters the temporal scaler reads (KEDA's temporal scaler: apiKey, or mTLS files). */
const TEMPORAL_AUTH_PARAMETERS = new Set(['apiKey', 'cert', 'key', 'keyPassword', 'ca']);

describe('infra/k8s: worker manifests', () => {
  withBoth('every overlay renders and every object matches the Kubernetes schemas (strict), KEDA objects their documented fields', () => {
    const documents: Array<{ source: string; doc: unknown }> = [];
    for (const name of OVERLAYS) {
      for (const object of overlay(name)) {
        documents.push({ source: name, doc: object });
        if (object.kind === 'ScaledObject') {
          const parsed = scaledObject.safeParse(object);
          expect(parsed.success, `${name}: ScaledObject ${object.metadata.name}: ${parsed.error?.message}`).toBe(true);
          // The HPA behaviour KEDA passes through, validated as the HPA it becomes.
          const behavior = (object.spec as { advanced?: { horizontalPodAutoscalerConfig?: { behavior?: unknown } } }).advanced?.horizontalPodAutoscalerConfig?.behavior;
          if (behavior) {
            documents.push({
              source: `${name} (HPA behaviour of ${object.metadata.name})`,
              doc: {
                apiVersion: 'autoscaling/v2',
                kind: 'HorizontalPodAutoscaler',
                metadata: { name: object.metadata.name },
                spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'x' }, maxReplicas: 2, behavior },
              },
            });
          }
        }
        if (object.kind === 'TriggerAuthentication') {
          const parsed = triggerAuthentication.safeParse(object);
          expect(parsed.success, `${name}: TriggerAuthentication ${object.metadata.name}: ${parsed.error?.message}`).toBe(true);
        }
      }
    }
    const answer = runValidators(python!, { kubernetes: { versions: KUBERNETES_VERSIONS, documents } });
    const results = answer.kubernetes!;
    expect(results.filter((r) => r.error).map((r) => `${r.source}: ${r.kind}/${r.name} on ${r.version}: ${r.error}`)).toEqual([]);
    // Everything without a bundled schema must be a KEDA object (checked above), nothing else.
    expect(new Set(results.filter((r) => r.skipped !== null).map((r) => r.kind))).toEqual(new Set(['ScaledObject', 'TriggerAuthentication']));
    const checked = results.filter((r) => r.skipped === null && !r.error);
    expect(new Set(checked.map((r) => r.kind))).toEqual(new Set(['Namespace', 'ServiceAccount', 'ConfigMap', 'Deployment', 'PodDisruptionBudget', 'HorizontalPodAutoscaler']));
  });

  withPython('the schema check rejects a broken Deployment and an unknown field (a pass means something)', () => {
    const good = parseYamlDocuments(readRepoFile('infra/k8s/base/worker-orchestration.yaml'), 'worker-orchestration.yaml')[0] as K8sObject;
    const wrongType = structuredClone(good) as K8sObject & { spec: { replicas?: unknown } };
    wrongType.spec.replicas = 'two';
    const unknownField = structuredClone(good) as K8sObject & { spec: { template: { spec: Record<string, unknown> } } };
    unknownField.spec.template.spec.nodeSelecter = { gpu: 'true' };
    const answer = runValidators(python!, {
      kubernetes: {
        versions: ['1.30.0'],
        documents: [
          { source: 'good', doc: good },
          { source: 'wrong type', doc: wrongType },
          { source: 'unknown field', doc: unknownField },
        ],
      },
    });
    const bySource = Object.fromEntries(answer.kubernetes!.map((r) => [r.source, r.error]));
    expect(bySource.good).toBeNull();
    expect(bySource['wrong type']).toMatch(/replicas/);
    expect(bySource['unknown field']).toMatch(/nodeSelecter/);
  });

  withKustomize('one Deployment per task queue, each running a worker command the CLI accepts for that queue', async () => {
    for (const name of OVERLAYS) {
      const served: string[] = [];
      for (const deployment of deployments(overlay(name))) {
        expect(deployment.pod.containers, `${name}/${deployment.name}`).toHaveLength(1);
        const queues = await workerQueues(deployment.pod.containers[0]!.args ?? []);
        expect(queues, `${name}/${deployment.name} serves one queue`).toHaveLength(1);
        served.push(queues[0]!);
      }
      expect(served.sort(), name).toEqual(Object.values(TASK_QUEUES).sort());
    }
    await expect(workerQueues(['worker', '--task-queue', 'driftline-gpu'])).rejects.toThrow(/driftline-gpu/);
  });

  withKustomize('KEDA scales each Deployment on its own queue, reading Temporal address and namespace from the workers', () => {
    for (const name of OVERLAYS) {
      const objects = overlay(name);
      const scalers = objects.filter((o) => o.kind === 'ScaledObject');
      expect(scalers, name).toHaveLength(Object.values(TASK_QUEUES).length);
      for (const scaler of scalers) {
        const spec = scaler.spec as z.infer<typeof scaledObject>['spec'];
        const deployment = deployments(objects).find((d) => d.name === spec.scaleTargetRef.name);
        expect(deployment, `${name}: ${scaler.metadata.name} targets a Deployment of the overlay`).toBeDefined();
        const container = deployment!.pod.containers[0]!;
        const env = containerEnv(container, objects);
        const temporalTriggers = spec.triggers.filter((t) => t.type === 'temporal');
        expect(temporalTriggers, `${name}/${scaler.metadata.name}`).toHaveLength(1);
        const metadata = temporalTriggers[0]!.metadata as z.infer<typeof temporalMetadata>;
        expect([metadata.taskQueue]).toEqual(container.args!.slice(container.args!.indexOf('--task-queue') + 1));
        for (const [field, fromEnv] of [
          ['endpoint', metadata.endpointFromEnv],
          ['namespace', metadata.namespaceFromEnv],
        ] as const) {
          expect(fromEnv, `${name}/${scaler.metadata.name}: ${field} comes from the workers' environment`).toBeDefined();
          expect(typeof env.get(fromEnv!), `${name}/${scaler.metadata.name}: ${fromEnv} is set on ${deployment!.name}`).toBe('string');
        }
        const ref = temporalTriggers[0]!.authenticationRef;
        const usesApiKey = env.has('TEMPORAL_API_KEY');
        const usesMtls = env.has('TEMPORAL_TLS_CLIENT_CERT_PATH');
        // A scaler that connects without the workers' credentials would never see the backlog.
        expect(Boolean(ref), `${name}/${scaler.metadata.name}: authenticates like its workers`).toBe(usesApiKey || usesMtls);
        if (ref) {
          const auth = objects.find((o) => o.kind === 'TriggerAuthentication' && o.metadata.name === ref.name);
          expect(auth, `${name}: TriggerAuthentication ${ref.name}`).toBeDefined();
          const params = (auth!.spec as { secretTargetRef: Array<{ parameter: string; name: string; key: string }> }).secretTargetRef;
          for (const p of params) expect(TEMPORAL_AUTH_PARAMETERS.has(p.parameter), p.parameter).toBe(true);
          if (usesApiKey) {
            const key = env.get('TEMPORAL_API_KEY') as { secret: string; key: string };
            expect(params).toContainEqual({ parameter: 'apiKey', name: key.secret, key: key.key });
            expect(metadata.enableTLS).toBe('true');
          }
          if (usesMtls) expect(new Set(params.map((p) => p.parameter))).toEqual(new Set(['cert', 'key']));
        }
      }
    }
  });

  withKustomize('workers get the variables the code reads, and only those; the health port agrees everywhere', () => {
    const names = new Set<string>();
    for (const name of OVERLAYS) {
      const objects = overlay(name);
      for (const deployment of deployments(objects)) {
        const container = deployment.pod.containers[0]!;
        const env = containerEnv(container, objects);
        for (const key of env.keys()) names.add(key);
        for (const required of REQUIRED_WORKER_ENV) expect(env.has(required), `${name}/${deployment.name}: ${required}`).toBe(true);
        // DATABASE_URL carries a password: from a Secret, never a literal.
        expect(env.get('DATABASE_URL'), `${name}/${deployment.name}`).toMatchObject({ secret: 'driftline-database', optional: false });
        const port = Number(env.get('DRIFTLINE_HEALTH_PORT'));
        expect(container.ports).toContainEqual({ name: 'health', containerPort: port, protocol: 'TCP' });
        expect(Number(deployment.annotations['prometheus.io/port'])).toBe(port);
        expect(container.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'health' });
        expect(container.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'health' });
        // mTLS files named in the environment must be mounted from the certificate's Secret.
        for (const variable of ['TEMPORAL_TLS_CLIENT_CERT_PATH', 'TEMPORAL_TLS_CLIENT_KEY_PATH']) {
          const path = env.get(variable);
          if (typeof path !== 'string') continue;
          const mount = (container.volumeMounts ?? []).find((m) => path.startsWith(`${m.mountPath}/`));
          const volume = deployment.pod.volumes?.find((v) => v.name === mount?.name);
          expect(volume?.secret?.secretName, `${name}/${deployment.name}: ${variable}=${path} is mounted from a Secret`).toBeDefined();
        }
      }
    }
    expect(envNameProblems(names)).toEqual([]);
  });

  withKustomize('training workers ask for a GPU (tolerating GPU taints) unless training runs on SageMaker', () => {
    const gpu = (name: string, deployment: string) => {
      const d = deployments(overlay(name)).find((x) => x.name === deployment)!;
      return { limit: d.pod.containers[0]!.resources?.limits?.['nvidia.com/gpu'], tolerations: d.pod.tolerations ?? [] };
    };
    for (const name of ['self-hosted', 'temporal-cloud-api-key', 'temporal-cloud-mtls', 'gpu-training-prometheus']) {
      expect(gpu(name, 'driftline-worker-training').limit, name).toBe(1);
      expect(gpu(name, 'driftline-worker-training').tolerations, name).toContainEqual({ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' });
      expect(gpu(name, 'driftline-worker').limit, name).toBeUndefined();
    }
    expect(gpu('sagemaker-training', 'driftline-worker-training')).toEqual({ limit: undefined, tolerations: [] });
    // The training queue scales from zero; orchestration always keeps pollers for workflow tasks.
    const scalers = overlay('self-hosted').filter((o) => o.kind === 'ScaledObject');
    const min = (target: string) => (scalers.find((s) => (s.spec as { scaleTargetRef: { name: string } }).scaleTargetRef.name === target)!.spec as { minReplicaCount: number }).minReplicaCount;
    expect(min('driftline-worker-training')).toBe(0);
    expect(min('driftline-worker')).toBeGreaterThanOrEqual(1);
  });

  it('the image builds the compiled CLI from files that exist and runs what the build emits', () => {
    const dockerfile = readRepoFile('infra/docker/Dockerfile');
    expect(dockerfile).toMatch(/^RUN npm run build\b/m);
    expect(dockerfile).toMatch(/^ENTRYPOINT \["node", "dist\/scripts\/cli\/main\.js"\]$/m);
    // tsconfig.build.json compiles scripts/cli/main.ts to that path
    const build = JSON.parse(readRepoFile('tsconfig.build.json')) as { compilerOptions: { outDir: string; rootDir: string } };
    expect([build.compilerOptions.outDir, build.compilerOptions.rootDir]).toEqual(['dist', '.']);
    expect(existsSync(join(REPO_ROOT, 'scripts/cli/main.ts'))).toBe(true);
    const sources = [...dockerfile.matchAll(/^COPY (?!--)(.+)$/gm)].flatMap((m) => m[1]!.trim().split(/\s+/).slice(0, -1));
    expect(sources).toEqual(expect.arrayContaining(['scripts', 'core', 'workflows', 'activities', 'workers', 'tsconfig.build.json']));
    for (const source of sources) expect(existsSync(join(REPO_ROOT, source)), source).toBe(true);
  });
});

describe('infra/compose: local production-like stack', () => {
  const compose = parseYamlDocuments(readRepoFile('infra/compose/compose.yaml'), 'compose.yaml')[0] as {
    services: Record<string, { image?: string; command?: string[]; environment?: Record<string, string>; entrypoint?: string[] }>;
  };

  withPython('matches the Compose Specification', () => {
    const answer = runValidators(python!, { vendor: [{ source: 'compose.yaml', schema: 'compose-spec', doc: compose }] });
    expect(answer.vendor![0]!.errors).toEqual([]);
    // and the same check rejects a mistake
    const broken = structuredClone(compose) as { services: Record<string, Record<string, unknown>> };
    broken.services.worker!.restart_policy = 'always';
    expect(runValidators(python!, { vendor: [{ source: 'broken', schema: 'compose-spec', doc: broken }] }).vendor![0]!.errors.join('\n')).toMatch(/restart_policy/);
  });

  it('runs one worker per task queue with the variables the code reads, against its own Temporal and PostgreSQL', async () => {
    const workers = Object.entries(compose.services).filter(([, s]) => s.command?.[0] === 'worker');
    const served: string[] = [];
    for (const [name, service] of workers) {
      const queues = await workerQueues(service.command!);
      expect(queues, name).toHaveLength(1);
      served.push(queues[0]!);
      const env = service.environment!;
      for (const required of REQUIRED_WORKER_ENV) expect(env[required], `${name}: ${required}`).toBeDefined();
      expect(envNameProblems(Object.keys(env))).toEqual([]);
      expect(env.TEMPORAL_ADDRESS).toBe('temporal:7233');
      expect(env.TEMPORAL_NAMESPACE).toBe(compose.services['temporal-setup']!.environment!.TEMPORAL_NAMESPACE);
      const db = new URL(env.DATABASE_URL!);
      const pg = compose.services.postgresql!.environment!;
      expect([db.hostname, db.username, db.password, db.pathname.slice(1)]).toEqual(['postgresql', pg.POSTGRES_USER, pg.POSTGRES_PASSWORD, pg.POSTGRES_DB]);
    }
    expect(served.sort()).toEqual(Object.values(TASK_QUEUES).sort());
    const temporal = compose.services.temporal!.environment!;
    expect(temporal.DB).toBe('postgres12');
    expect(temporal.POSTGRES_SEEDS).toBe('postgresql');
  });
});

describe('infra/ci: CI templates', () => {
  withPython('match the GitHub Actions workflow and GitLab CI schemas', () => {
    const files = [
      ...readdirSync(join(REPO_ROOT, 'infra/ci/github-actions')).map((f) => ({ path: `infra/ci/github-actions/${f}`, schema: 'github-workflows' })),
      { path: 'infra/ci/gitlab/.gitlab-ci.yml', schema: 'gitlab-ci' },
    ];
    expect(files.length).toBeGreaterThanOrEqual(3);
    const answer = runValidators(python!, { vendor: files.map((f) => ({ source: f.path, schema: f.schema, doc: parseYaml(readRepoFile(f.path)) as unknown })) });
    expect(answer.vendor!.filter((r) => r.errors.length > 0)).toEqual([]);
  });
});

describe('search attributes: compose setup and the Kubernetes job', () => {
  const compose = parseYaml(readRepoFile('infra/compose/compose.yaml'), { merge: true }) as {
    services: Record<string, { command: string[]; environment: Record<string, string> }>;
  };
  const job = parseYaml(readRepoFile('infra/temporal/search-attributes-job.yaml')) as {
    spec: { template: { spec: { containers: Array<{ args: string[]; env: Array<{ name: string; value: string }> }> } } };
  };
  const setup = compose.services['temporal-setup']!;
  const jobContainer = job.spec.template.spec.containers[0]!;
  const jobEnv = Object.fromEntries(jobContainer.env.map((e) => [e.name, e.value]));

  it('name exactly the attributes of core/names.ts, in the namespace the workers use', () => {
    expect(setup.environment.DRIFTLINE_SEARCH_ATTRIBUTES!.split(/\s+/)).toEqual([...SEARCH_ATTRIBUTE_FLAGS]);
    expect(jobEnv.DRIFTLINE_SEARCH_ATTRIBUTES!.split(/\s+/)).toEqual([...SEARCH_ATTRIBUTE_FLAGS]);
    const values = parseYaml(readRepoFile('infra/temporal/values-postgresql.yaml')) as { server: { config: { namespaces: { namespace: Array<{ name: string }> } } } };
    expect(values.server.config.namespaces.namespace.map((n) => n.name)).toContain(jobEnv.TEMPORAL_NAMESPACE);
    expect(jobEnv.TEMPORAL_NAMESPACE).toBe('driftline');
  });

  it('register them on a real Temporal server, and a second run changes nothing', () => {
    const bin = mkdtempSync(join(tmpdir(), 'driftline-infra-cli-'));
    try {
      symlinkSync(inject('temporalCliPath'), join(bin, 'temporal'));
      const namespace = `infra-${Date.now().toString(36)}`;
      const env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, TEMPORAL_ADDRESS: inject('temporalAddress'), TEMPORAL_NAMESPACE: namespace, DRIFTLINE_SEARCH_ATTRIBUTES: setup.environment.DRIFTLINE_SEARCH_ATTRIBUTES };
      // Compose interpolates `$$` to `$` before the shell sees the script.
      const composeScript = setup.command[0]!.replaceAll('$$', '$');
      const run = (script: string) => execFileSync('sh', ['-ec', script], { env, encoding: 'utf8', timeout: 150_000, stdio: ['ignore', 'pipe', 'pipe'] });
      run(composeScript); // creates the namespace and the attributes
      run(jobContainer.args[0]!); // the cluster job on the same namespace: all present already
      run(composeScript); // and again
      const listed = JSON.parse(execFileSync(join(bin, 'temporal'), ['operator', 'search-attribute', 'list', '--namespace', namespace, '--output', 'json'], { env, encoding: 'utf8' })) as {
        customAttributes?: Record<string, string>;
      };
      const types = listed.customAttributes ?? {};
      for (const flag of SEARCH_ATTRIBUTE_FLAGS) {
        const [name, type] = flag.split('=') as [string, string];
        expect(types[name], name).toBe(`INDEXED_VALUE_TYPE_${type.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase()}`);
      }
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });
});

describe('infra/temporal: Helm values for the official chart', () => {
  it('put the default and the visibility store on PostgreSQL, with the password from a Secret', () => {
    const values = parseYaml(readRepoFile('infra/temporal/values-postgresql.yaml')) as {
      server: { config: { persistence: { defaultStore: string; visibilityStore: string; numHistoryShards: number; datastores: Record<string, Record<string, Record<string, unknown>>> } } };
    };
    const persistence = values.server.config.persistence;
    const stores = [persistence.datastores[persistence.defaultStore], persistence.datastores[persistence.visibilityStore]];
    for (const store of stores) {
      expect(Object.keys(store!)).toEqual(['sql']);
      expect(store!.sql).toMatchObject({ pluginName: 'postgres12', existingSecret: expect.any(String) });
      expect(store!.sql).not.toHaveProperty('password');
    }
    expect(stores[0]!.sql!.databaseName).not.toBe(stores[1]!.sql!.databaseName);
    expect(persistence.numHistoryShards).toBeGreaterThan(0);
  });
});

// --- Terraform ---------------------------------------------------------------------------------
const TF_DIR = 'infra/terraform';
const TF_FILES = ['versions.tf', 'variables.tf', 'main.tf', 's3.tf', 'iam.tf', 'outputs.tf'];
/** hcl2 keeps HCL's quotes around labels and strings; drop them. */
const unquote = (value: unknown): unknown => (typeof value === 'string' ? value.replace(/^"(.*)"$/s, '$1') : value);
type HclBlocks = Array<Record<string, Record<string, Record<string, unknown>>>>;

function terraformText(): string {
  // Comments are not references.
  return TF_FILES.map((f) => readRepoFile(join(TF_DIR, f)).replace(/^\s*#.*$/gm, '')).join('\n');
}

/** Sample values for the policy templates' placeholders (what Terraform passes in). */
const SAMPLE = {
  partition: 'aws',
  region: 'eu-west-1',
  account_id: '123456789012',
  bucket_arn: 'arn:aws:s3:::acme-driftline',
  kms_key_arn: 'arn:aws:kms:eu-west-1:123456789012:key/1b2c3d4e-0000-0000-0000-000000000000',
  sagemaker_name_prefix: '',
  sagemaker_execution_role_arn: 'arn:aws:iam::123456789012:role/driftline-sagemaker-execution',
  image_repository_arns: JSON.stringify(['arn:aws:ecr:eu-west-1:123456789012:repository/driftline-trainers']),
};

describe('infra/terraform', () => {
  withPython('parses, declares everything it references, and gives each template exactly its variables', () => {
    const paths = TF_FILES.map((f) => join(REPO_ROOT, TF_DIR, f));
    const hcl = runValidators(python!, { hcl: paths }).hcl!;
    for (const path of paths) expect(hcl[path]?.error, path).toBeUndefined();
    const blocks = (kind: string) => paths.flatMap((p) => ((hcl[p]!.parsed![kind] as HclBlocks | undefined) ?? []));
    const declared = {
      variables: new Set(blocks('variable').flatMap((b) => Object.keys(b).map((k) => unquote(k) as string))),
      locals: new Set(blocks('locals').flatMap((b) => Object.keys(b))),
      resources: new Set(blocks('resource').flatMap((b) => Object.entries(b).flatMap(([type, named]) => Object.keys(named).map((n) => `${unquote(type)}.${unquote(n)}`)))),
      data: new Set(blocks('data').flatMap((b) => Object.entries(b).flatMap(([type, named]) => Object.keys(named).map((n) => `${unquote(type)}.${unquote(n)}`)))),
    };
    const text = terraformText();
    const undeclared = [
      ...[...text.matchAll(/\bvar\.([a-z_][a-z0-9_]*)/g)].map((m) => m[1]!).filter((n) => !declared.variables.has(n)).map((n) => `var.${n}`),
      ...[...text.matchAll(/\blocal\.([a-z_][a-z0-9_]*)/g)].map((m) => m[1]!).filter((n) => !declared.locals.has(n)).map((n) => `local.${n}`),
      ...[...text.matchAll(/\bdata\.(aws_[a-z0-9_]+\.[a-z_][a-z0-9_]*)/g)].map((m) => m[1]!).filter((n) => !declared.data.has(n)).map((n) => `data.${n}`),
      ...[...text.matchAll(/(?<![.\w"])(aws_[a-z0-9_]+\.[a-z_][a-z0-9_]*)\.[a-z_]/g)].map((m) => m[1]!).filter((n) => !declared.resources.has(n)),
    ];
    expect(undeclared).toEqual([]);
    expect(declared.variables.size).toBeGreaterThan(5);

    // templatefile(): the file exists and receives exactly the placeholders it uses.
    const policyVars = blocks('locals').find((b) => 'policy_vars' in b)!.policy_vars as unknown as Record<string, unknown>;
    const calls = [...text.matchAll(/templatefile\("\$\{path\.module\}\/([^"]+)",\s*(local\.[a-z_]+|\{)/g)];
    expect(calls.length).toBe(2);
    for (const call of calls) {
      const template = readRepoFile(join(TF_DIR, call[1]!));
      let keys: string[];
      if (call[2] === 'local.policy_vars') keys = Object.keys(policyVars).filter((k) => k !== '__is_block__');
      else {
        const body = text.slice(call.index! + call[0].length, text.indexOf('})', call.index!));
        keys = [...body.matchAll(/^\s*([a-z_]+)\s*=/gm)].map((m) => m[1]!);
      }
      expect(new Set(keys), call[1]).toEqual(templatePlaceholders(template));
      const document = JSON.parse(renderTemplate(template, SAMPLE)) as PolicyDocument;
      expect(document.Version).toBe('2012-10-17');
    }
  });

  withPython('the artifacts bucket is versioned, encrypted with its own rotating KMS key, private and TLS-only', () => {
    const hcl = runValidators(python!, { hcl: [join(REPO_ROOT, TF_DIR, 's3.tf')] }).hcl!;
    const resources = new Map<string, Record<string, unknown>>();
    for (const block of (Object.values(hcl)[0]!.parsed!.resource as HclBlocks)) {
      for (const [type, named] of Object.entries(block)) for (const [name, body] of Object.entries(named)) resources.set(`${unquote(type)}.${unquote(name)}`, body);
    }
    const first = (value: unknown) => (Array.isArray(value) ? value[0] : value) as Record<string, unknown>;
    expect(unquote(first(resources.get('aws_s3_bucket_versioning.artifacts')!.versioning_configuration).status)).toBe('Enabled');
    const sse = first(first(resources.get('aws_s3_bucket_server_side_encryption_configuration.artifacts')!.rule).apply_server_side_encryption_by_default);
    expect(unquote(sse.sse_algorithm)).toBe('aws:kms');
    expect(sse.kms_master_key_id).toBe('${aws_kms_key.artifacts.arn}');
    expect(resources.get('aws_kms_key.artifacts')!.enable_key_rotation).toBe(true);
    const block = resources.get('aws_s3_bucket_public_access_block.artifacts')!;
    for (const flag of ['block_public_acls', 'block_public_policy', 'ignore_public_acls', 'restrict_public_buckets']) expect(block[flag], flag).toBe(true);
    expect(readRepoFile(join(TF_DIR, 's3.tf'))).toMatch(/variable\s*=\s*"aws:SecureTransport"[\s\S]*?values\s*=\s*\["false"\]/);
  });

  (terraform ? it : it.skip)('terraform validate, fmt and test pass (AWS provider from the local plugin mirror, mocked in tests)', () => {
    const work = mkdtempSync(join(tmpdir(), 'driftline-terraform-'));
    try {
      cpSync(join(REPO_ROOT, TF_DIR), work, { recursive: true });
      const env = { ...process.env, TF_IN_AUTOMATION: '1', CHECKPOINT_DISABLE: '1' };
      execFileSync(terraform!.terraform, ['init', '-backend=false', '-input=false', '-no-color', `-plugin-dir=${terraform!.pluginDir}`], { cwd: work, env, stdio: 'pipe', timeout: 300_000 });
      const result = JSON.parse(execFileSync(terraform!.terraform, ['validate', '-json', '-no-color'], { cwd: work, env, encoding: 'utf8', timeout: 300_000 })) as {
        valid: boolean;
        diagnostics: Array<{ summary: string; detail?: string }>;
      };
      expect(result.diagnostics.map((d) => `${d.summary}: ${d.detail ?? ''}`)).toEqual([]);
      expect(result.valid).toBe(true);
      execFileSync(terraform!.terraform, ['fmt', '-check', '-recursive', '-no-color', work], { env, stdio: 'pipe' });
      // infra/terraform/tests/: the policies rendered from their templates, bucket settings, Pod Identity.
      const test = execFileSync(terraform!.terraform, ['test', '-no-color'], { cwd: work, env, encoding: 'utf8', timeout: 300_000 });
      expect(test).toMatch(/Success! [1-9]\d* passed, 0 failed/);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }, 600_000);
});

// --- IAM -----------------------------------------------------------------------------------------
/** Actions AWS documents as having no resource-level permissions: only `"Resource": "*"` works. */
const NO_RESOURCE_LEVEL = new Set(['cloudwatch:GetMetricData']);

function workerPolicy(): PolicyDocument {
  return JSON.parse(renderTemplate(readRepoFile('infra/terraform/policies/worker-policy.json.tpl'), SAMPLE)) as PolicyDocument;
}
function codeSources() {
  return codeFiles().map((file) => ({ file, text: readFileSync(file, 'utf8') }));
}
function bucketUsesKms(): boolean {
  return /sse_algorithm\s*=\s*"aws:kms"/.test(readRepoFile('infra/terraform/s3.tf'));
}

describe('infra/terraform: the workers IAM policy', () => {
  it('allows exactly the AWS actions the code calls, with no wildcard actions', () => {
    const calls = awsCalls(codeSources());
    // The scan found the adapters (S3 store, SageMaker training and endpoints, CloudWatch metrics).
    expect(new Set(calls.map((c) => c.service))).toEqual(new Set(['s3', 'sagemaker', 'cloudwatch']));
    const required = requiredActions(calls, { bucketUsesKms: bucketUsesKms() });
    const policy = workerPolicy();
    for (const statement of policy.Statement) {
      expect(statement.Effect).toBe('Allow');
      expect(statement.NotAction).toBeUndefined();
      expect(statement.NotResource).toBeUndefined();
      for (const action of asList(statement.Action)) expect(action, 'no wildcard actions').not.toMatch(/\*/);
    }
    const allowed = new Set(allowedActions(policy).keys());
    const needed = new Set(required.map((r) => r.action));
    const missingActions = [...needed].filter((a) => !allowed.has(a)).map((a) => `${a} (for ${required.filter((r) => r.action === a).map((r) => r.because).join('; ')})`);
    const extra = [...allowed].filter((a) => !needed.has(a));
    expect(missingActions, 'actions the code needs that the policy does not allow').toEqual([]);
    expect(extra, 'actions the policy allows that no code needs').toEqual([]);
  });

  it('scopes every resource to its own kind; only actions without resource-level permissions use *', () => {
    const policy = workerPolicy();
    const sagemakerArn = (type: string) => new RegExp(`^arn:aws:sagemaker:eu-west-1:123456789012:${type}/[A-Za-z0-9-]*\\*$`);
    const allowedResource = (action: string, resource: string): boolean => {
      if (resource === '*') return NO_RESOURCE_LEVEL.has(action);
      const [service, operation] = action.split(':') as [string, string];
      switch (service) {
        case 's3':
          return operation === 'ListBucket' ? resource === SAMPLE.bucket_arn : resource === `${SAMPLE.bucket_arn}/*`;
        case 'kms':
          return resource === SAMPLE.kms_key_arn;
        case 'iam':
          return resource === SAMPLE.sagemaker_execution_role_arn;
        case 'sagemaker': {
          if (operation === 'AddTags') return ['training-job', 'transform-job', 'model', 'endpoint-config'].some((t) => sagemakerArn(t).test(resource));
          if (operation === 'UpdateEndpoint') return sagemakerArn('endpoint').test(resource) || sagemakerArn('endpoint-config').test(resource);
          const noun = operation.replace(/^(Create|Describe|Stop|Update)/, '').replace(/WeightsAndCapacities$/, '');
          const type = noun.replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase();
          return sagemakerArn(type).test(resource);
        }
        default:
          return false;
      }
    };
    const problems: string[] = [];
    for (const statement of policy.Statement) {
      for (const action of asList(statement.Action)) {
        for (const resource of asList(statement.Resource)) if (!allowedResource(action, resource)) problems.push(`${statement.Sid}: ${action} on ${resource}`);
      }
      // Passing the role is only ever to SageMaker; KMS only on S3's behalf; tags only Driftline's.
      if (asList(statement.Action).includes('iam:PassRole')) expect(statement.Condition?.StringEquals?.['iam:PassedToService']).toBe('sagemaker.amazonaws.com');
      if (asList(statement.Action).some((a) => a.startsWith('kms:'))) expect(statement.Condition?.StringEquals?.['kms:ViaService']).toBe('s3.eu-west-1.amazonaws.com');
      if (asList(statement.Action).includes('sagemaker:AddTags')) expect(statement.Condition?.['ForAllValues:StringLike']?.['aws:TagKeys']).toEqual(['driftline:*']);
    }
    expect(problems).toEqual([]);
  });

  it('would catch code that starts calling a new AWS API', () => {
    const sources = [
      ...codeSources(),
      {
        file: join(REPO_ROOT, 'activities/hypothetical.ts'),
        text: "import { DeleteObjectCommand } from '@aws-sdk/client-s3';\nawait s3.send(new DeleteObjectCommand({ Bucket, Key }));",
      },
    ];
    const needed = new Set(requiredActions(awsCalls(sources), { bucketUsesKms: true }).map((r) => r.action));
    expect(allowedActions(workerPolicy()).has('s3:DeleteObject')).toBe(false);
    expect(needed.has('s3:DeleteObject')).toBe(true);
    expect(() => awsCalls([{ file: join(REPO_ROOT, 'x.ts'), text: "import { ListBucketsCommand } from '@aws-sdk/client-s3';\nconst c = ListBucketsCommand;" }])).toThrow(/never constructs it/);
    expect(() => requiredActions([{ service: 'sts', command: 'GetCallerIdentityCommand', file: 'x.ts', fileSendsTags: false }], { bucketUsesKms: true })).toThrow(/no IAM mapping/);
  });
});
