#!/usr/bin/env node
// Validates Kubernetes objects (multi-document YAML, e.g. `kubectl kustomize` output) against
// their OpenAPI schemas, offline. Schemas come from npm packages pinned in package-lock.json:
// kubernetes-models (the Kubernetes API), @kubernetes-models/keda (ScaledObject) and
// @kubernetes-models/strimzi-kafka-operator (KafkaTopic). Checks types, required fields, enums
// and formats; like the API server without strict field validation, it does not reject
// unknown fields. An object whose apiVersion/kind has no schema here is an error.
//
//   node validate-k8s.mjs FILE...      (FILE "-" reads stdin)
// Exit 0 when every object is valid, 1 when one is not, 2 on bad usage or unreadable input.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

// apiVersion group -> module prefix; the module is PREFIX/<group or version path>/<Kind>.
const kPackages = new Map([
  ["", "kubernetes-models"],
  ["keda.sh", "@kubernetes-models/keda"],
  ["kafka.strimzi.io", "@kubernetes-models/strimzi-kafka-operator"],
]);

function modulePath(apiVersion, kind) {
  const slash = apiVersion.indexOf("/");
  const group = slash < 0 ? "" : apiVersion.slice(0, slash);
  const prefix = kPackages.get(group) ?? (group.includes(".") && !group.endsWith(".k8s.io")
    ? undefined : "kubernetes-models");
  if (prefix === undefined || !/^[A-Za-z0-9]+$/.test(kind)) return undefined;
  return `${prefix}/${apiVersion}/${kind}`;
}

async function validateObject(object) {
  if (object === null || typeof object !== "object" || Array.isArray(object)) {
    return "not a mapping";
  }
  const { apiVersion, kind } = object;
  if (typeof apiVersion !== "string" || typeof kind !== "string") {
    return "missing apiVersion or kind";
  }
  const path = modulePath(apiVersion, kind);
  let Model;
  try {
    Model = path && (await import(path))[kind];
  } catch {
    Model = undefined;
  }
  if (typeof Model !== "function") return `no schema for ${apiVersion} ${kind}`;
  try {
    new Model(object).validate();
  } catch (e) {
    return e.message;
  }
  return null;
}

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: validate-k8s.mjs FILE... (\"-\" for stdin)");
  process.exit(2);
}
let valid = 0;
let invalid = 0;
for (const file of files) {
  let text;
  try {
    text = readFileSync(file === "-" ? 0 : file, "utf8");
  } catch (e) {
    console.error(`${file}: cannot read: ${e.message}`);
    process.exit(2);
  }
  const documents = parseAllDocuments(text);
  for (const [index, document] of documents.entries()) {
    const where = `${file}: document ${index + 1}`;
    if (document.errors.length > 0) {
      console.error(`${where}: YAML: ${document.errors[0].message}`);
      invalid++;
      continue;
    }
    const object = document.toJS();
    if (object === null) continue;  // an empty document
    const name = `${object?.kind ?? "?"}/${object?.metadata?.name ?? "?"}`;
    const problem = await validateObject(object);
    if (problem === null) {
      valid++;
    } else {
      console.error(`${where} (${name}): ${problem}`);
      invalid++;
    }
  }
}
console.log(`${valid} valid, ${invalid} invalid`);
process.exit(invalid === 0 ? 0 : 1);
