// Validates rendered Kubernetes objects offline, two ways:
//  1. kubernetes-models: each object against the API's JSON schema (types,
//     required fields, formats, enums);
//  2. kubernetes-types + tsc: each object as a typed literal of the current
//     Kubernetes API (1.30): unknown fields are excess-property errors and a
//     removed apiVersion has no type to import.
// Usage: node validate.mjs OBJECTS.json   (a JSON array of objects)
import fs from "node:fs";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const objects = JSON.parse(fs.readFileSync(process.argv[2], "utf8")).filter(Boolean);
let failures = 0;

// 1. JSON schema.
for (const o of objects) {
  const what = `${o.apiVersion} ${o.kind} ${o.metadata?.name}`;
  let Model;
  try {
    Model = (await import(`kubernetes-models/${o.apiVersion}/${o.kind}`))[o.kind];
  } catch {
    console.error(`FAIL ${what}: no schema for this apiVersion and kind`);
    failures++;
    continue;
  }
  try {
    new Model(o).validate();
    console.log(`schema ok: ${what}`);
  } catch (e) {
    console.error(`FAIL ${what}: ${e.message}`);
    failures++;
  }
}

// 2. Types.
const lines = [];
objects.forEach((o, i) => {
  const [group, version] = o.apiVersion.includes("/") ? o.apiVersion.split("/") : ["core", o.apiVersion];
  const module = `kubernetes-types/${group.split(".")[0]}/${version}`;
  lines.push(`import type { ${o.kind} as T${i} } from "${module}";`);
  lines.push(`export const object${i}: T${i} = ${JSON.stringify(o, null, 2)};`);
});
const tmp = fs.mkdtempSync(path.join(here, ".typecheck-"));
const file = path.join(tmp, "objects.ts");
fs.writeFileSync(file, lines.join("\n") + "\n");
try {
  execFileSync(path.join(here, "node_modules", ".bin", "tsc"),
               ["--noEmit", "--strict", "--moduleResolution", "node", "--module", "esnext",
                file],
               { stdio: "pipe", cwd: here });
  console.log(`types ok: ${objects.length} objects are valid Kubernetes 1.30 API objects`);
} catch (e) {
  console.error(`FAIL types:\n${e.stdout}${e.stderr}`);
  failures++;
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
process.exit(failures ? 1 : 0);
