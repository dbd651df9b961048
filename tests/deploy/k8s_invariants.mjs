// What the rendered overlays must say beyond their schemas: the deployment rules of DESIGN.md
// and deploy/README.md. Run by k8s_invariants_test.sh:
//   node k8s_invariants.mjs REPO_ROOT OVERLAY RENDERED.yaml [SERVICE=BINARY...]
// With SERVICE=BINARY pairs, every CLAIMS_* variable given to that service's container must be
// a flag its `--help` lists. Prints each broken rule; exit 1 if any, else 0.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";

const [root, overlay, rendered, ...binaries] = process.argv.slice(2);
const require = createRequire(`${root}/deploy/tools/package.json`);
const { parseAllDocuments } = require("yaml");

const objects = parseAllDocuments(readFileSync(rendered, "utf8")).map((d) => d.toJS());
const problems = [];
const check = (ok, message) => {
  if (!ok) problems.push(message);
};
const ofKind = (kind) => objects.filter((o) => o.kind === kind);
const named = (kind, name) => objects.find((o) => o.kind === kind && o.metadata.name === name);
const envOf = (container) => new Map((container.env ?? []).map((e) => [e.name, e.value]));

const kTopics = new Map([
  ["intake.events.v1", { partitions: 12, infinite: true }],
  ["adjudication.decisions.v1", { partitions: 12, infinite: true }],
  ["payout.payments.v1", { partitions: 12, infinite: true }],
  ["payout.commands.v1", { partitions: 1, infinite: true }],
  ["intake.calls.v1", { partitions: 1 }],
  ["keys.members.v1", { compacted: true }],
]);
const topics = new Map(ofKind("KafkaTopic").map((t) => [t.spec.topicName ?? t.metadata.name, t]));
for (const [name, want] of kTopics) {
  const topic = topics.get(name);
  check(topic, `KafkaTopic ${name} is missing`);
  if (!topic) continue;
  const config = topic.spec.config ?? {};
  if (want.partitions) {
    check(topic.spec.partitions === want.partitions, `${name}: ${want.partitions} partitions`);
  }
  if (want.infinite) {
    check(String(config["retention.ms"]) === "-1" && String(config["retention.bytes"]) === "-1",
          `${name}: infinite retention (retention.ms and retention.bytes -1)`);
  }
  if (want.compacted) check(config["cleanup.policy"] === "compact", `${name}: compacted`);
  check(topic.metadata.labels?.["strimzi.io/cluster"], `${name}: names its Strimzi cluster`);
}

// The calls log (services/intake/key_claims.h) keeps each call longer than intake keeps the
// call's idempotency record: records go --idempotency-retention-days after their business date,
// at the next hourly purge, so the log keeps two days more; and no size limit may drop calls
// sooner.
const calls = topics.get("intake.calls.v1");
const intakeDeployment = named("Deployment", "claims-intake");
if (calls && intakeDeployment) {
  const intakeBinary = binaries.map((p) => p.split("=")).find(([s]) => s === "intake")?.[1];
  let days = envOf(intakeDeployment.spec.template.spec.containers[0])
    .get("CLAIMS_IDEMPOTENCY_RETENTION_DAYS");
  if (days === undefined && intakeBinary) {
    const help = execFileSync(intakeBinary, ["--help"], { encoding: "utf8" });
    days = help.match(/--idempotency-retention-days=INT .*default: (\d+)\)/)?.[1];
  }
  check(days !== undefined,
        "intake: its idempotency retention is known (CLAIMS_IDEMPOTENCY_RETENTION_DAYS or --help)");
  const config = calls.spec.config ?? {};
  if (days !== undefined) {
    const ms = Number(config["retention.ms"]);
    const needed = (Number(days) + 2) * 86400000;
    check(ms === -1 || ms >= needed,
          `intake.calls.v1: retention.ms ${config["retention.ms"]} keeps calls at least ` +
          `${needed} ms (intake keeps idempotency records ${days} days, plus 2)`);
  }
  check(config["retention.bytes"] === undefined || String(config["retention.bytes"]) === "-1",
        "intake.calls.v1: no retention.bytes (a size limit could drop calls before their records)");
}

const workloads = [...ofKind("Deployment"), ...ofKind("StatefulSet")];
check(named("Deployment", "claims-intake"), "intake is a Deployment");
check(named("StatefulSet", "claims-adjudication"), "adjudication is a StatefulSet");
check(named("StatefulSet", "claims-payout"), "payout is a StatefulSet");
check(named("HorizontalPodAutoscaler", "claims-intake"), "intake has an autoscaler");
check(ofKind("Secret").length === 0, "no Secret is rendered: keys and certificates never live in git");
check(ofKind("NetworkPolicy").some((p) => Object.keys(p.spec.podSelector).length === 0 &&
                                           p.spec.policyTypes.includes("Ingress") &&
                                           p.spec.policyTypes.includes("Egress") &&
                                           !p.spec.ingress && !p.spec.egress),
      "a default-deny NetworkPolicy (ingress and egress)");

const readme = readFileSync(`${root}/deploy/README.md`, "utf8");
const matches = (selector, labels) =>
  Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);

for (const w of workloads) {
  const name = `${w.kind} ${w.metadata.name}`;
  const pod = w.spec.template.spec;
  const labels = w.spec.template.metadata.labels;
  const [container] = pod.containers;
  const env = envOf(container);
  check(pod.securityContext?.runAsNonRoot === true, `${name}: runs as non-root`);
  check(container.securityContext?.allowPrivilegeEscalation === false,
        `${name}: no privilege escalation`);
  check(pod.terminationGracePeriodSeconds >= 30, `${name}: a grace period for SIGTERM`);
  check(container.lifecycle?.preStop, `${name}: preStop delay so endpoints drain first`);
  for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
    const p = container[probe];
    if (overlay === "prod") {
      check(p?.httpGet?.path === "/healthz", `${name}: ${probe} on /healthz (TLS)`);
    } else {
      check(p?.grpc?.port === 50051, `${name}: gRPC ${probe} on the gRPC port`);
    }
  }
  check(w.spec.replicas === undefined,
        `${name}: no spec.replicas (its autoscaler owns the count; an apply would reset it)`);
  check(pod.topologySpreadConstraints?.length > 0, `${name}: replicas spread over nodes`);
  check(ofKind("PodDisruptionBudget").some((b) => matches(b.spec.selector, labels)),
        `${name}: a PodDisruptionBudget`);
  check(labels["app.kubernetes.io/part-of"] === "claims-pipeline",
        `${name}: pods carry the label the NetworkPolicies select`);
  const dataMount = (container.volumeMounts ?? []).find((m) => m.mountPath === env.get("CLAIMS_DATA_DIR"));
  check(dataMount, `${name}: CLAIMS_DATA_DIR is a mounted volume`);
  if (w.kind === "StatefulSet") {
    check(w.spec.volumeClaimTemplates?.some((t) => t.metadata.name === dataMount?.name),
          `${name}: RocksDB on a persistent volume per replica`);
    const scaler = ofKind("ScaledObject").find((s) => s.spec.scaleTargetRef.name === w.metadata.name);
    check(scaler, `${name}: a KEDA ScaledObject`);
    if (scaler) {
      const trigger = scaler.spec.triggers.find((t) => t.type === "kafka");
      const topic = topics.get(trigger?.metadata?.topic);
      check(topic, `${name}: the ScaledObject's topic is one of ours`);
      check(topic && scaler.spec.maxReplicaCount <= topic.spec.partitions,
            `${name}: at most one replica per partition`);
      check(trigger?.metadata?.allowIdleConsumers === "false", `${name}: no idle consumers`);
      // The group the scaled replicas join: adjudication's --group-id, payout's instructors'.
      const group = env.get("CLAIMS_GROUP_ID") ?? env.get("CLAIMS_INSTRUCTOR_GROUP_ID");
      check(group !== undefined && trigger?.metadata?.consumerGroup === group,
            `${name}: KEDA watches the group the replicas join`);
      check(scaler.spec.minReplicaCount >= 1, `${name}: never scaled to zero`);
    }
  }
  if (overlay === "prod") {
    check(!env.has("CLAIMS_INSECURE_DEV"), `${name}: no --insecure-dev in prod`);
    check(env.has("CLAIMS_TLS_CERT") && env.has("CLAIMS_TLS_CLIENT_CA"), `${name}: TLS in prod`);
  } else {
    check(env.get("CLAIMS_INSECURE_DEV") === "true", `${name}: dev runs --insecure-dev`);
  }
  for (const volume of pod.volumes ?? []) {
    if (volume.secret) {
      check(readme.includes(volume.secret.secretName),
            `${name}: deploy/README.md says how to create Secret ${volume.secret.secretName}`);
    }
  }
}

// The plans ConfigMap holds config/plans byte for byte (decisions record each file's SHA-256).
const plans = ofKind("ConfigMap").find((c) => c.metadata.name.startsWith("claims-plans"));
check(plans, "a ConfigMap of plan files");
for (const file of readdirSync(`${root}/config/plans`).filter((f) => f.endsWith(".textproto"))) {
  check(plans?.data?.[file] === readFileSync(`${root}/config/plans/${file}`, "utf8"),
        `plans ConfigMap: ${file} differs from config/plans (copy it to deploy/k8s/base/plans)`);
}
const adjudication = named("StatefulSet", "claims-adjudication");
check(adjudication?.spec.template.spec.volumes?.some((v) => v.configMap?.name === plans?.metadata.name),
      "adjudication mounts the plans ConfigMap");

// Every CLAIMS_* variable is a flag of the binary (a misspelt variable would be ignored).
for (const pair of binaries) {
  const [service, binary] = pair.split("=");
  const help = execFileSync(binary, ["--help"], { encoding: "utf8" });
  const w = workloads.find((x) => x.metadata.name === `claims-${service}`);
  for (const variable of envOf(w.spec.template.spec.containers[0]).keys()) {
    const flag = `--${variable.replace(/^CLAIMS_/, "").toLowerCase().replaceAll("_", "-")}`;
    check(help.includes(flag), `${service}: ${variable} names no flag (${flag} not in --help)`);
  }
}

for (const p of problems) console.error(`${overlay}: ${p}`);
console.log(`${overlay}: ${problems.length === 0 ? "all rules hold" : `${problems.length} broken`}`);
process.exit(problems.length === 0 ? 0 : 1);
