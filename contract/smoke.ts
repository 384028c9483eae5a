// The contract stage's client check (.ci/run): a TypeScript client generated
// from openapi/openapi.json by openapi-typescript, compiled under
// `tsc --strict`, runs a short sale against a live server with openapi-fetch
// and validates every response it gets against the spec's own schema.
// Usage: node out/js/smoke.js <base-url> <admin-password>
import { readFileSync } from "node:fs";
import createClient, { type Middleware } from "openapi-fetch";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import type { paths, components } from "./out/schema.js";

type Schema = Record<string, unknown>;
type Spec = {
  paths: Record<string, Record<string, { responses: Record<string, Schema> }>>;
  components: { responses: Record<string, Schema> };
};

const [baseUrl, password] = process.argv.slice(2);
if (!baseUrl || !password) {
  throw new Error("usage: node out/js/smoke.js <base-url> <admin-password>");
}
const specText = readFileSync(new URL("../../../openapi/openapi.json", import.meta.url), "utf8");
const spec = JSON.parse(specText) as Spec;

// The spec's schemas are JSON Schema 2020-12 (OpenAPI 3.1); OpenAPI's own
// keywords (`example`) and formats (`int32`, `password`…) are not errors.
const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
addFormats.default(ajv);
for (const f of ["int32", "int64", "double", "float", "password", "binary"]) {
  ajv.addFormat(f, true);
}
ajv.addSchema(JSON.parse(specText) as Schema, "spec");

let checked = 0;
const failures: string[] = [];

/** Every response is checked against the schema its operation declares for its status and media type. */
const validate: Middleware = {
  async onResponse({ request, response, schemaPath }) {
    const method = request.method.toLowerCase();
    const declared = spec.paths[schemaPath]?.[method]?.responses;
    const where = `${request.method} ${schemaPath} → ${response.status}`;
    const stated = declared?.[String(response.status)] ?? declared?.["default"];
    // Answers many operations share are `$ref`s to `components/responses`.
    const shared = typeof stated?.["$ref"] === "string" ? (stated["$ref"] as string).replace("#/", "") : undefined;
    const answer = shared ? spec.components.responses[shared.split("/").pop()!] : stated;
    if (!answer) {
      failures.push(`${where}: status not documented`);
      return undefined;
    }
    const media = (response.headers.get("content-type") ?? "").split(";")[0]!.trim();
    const content = answer["content"] as Record<string, unknown> | undefined;
    if (!content) {
      if (response.status !== 204 && response.status !== 304 && media !== "") {
        failures.push(`${where}: a ${media} body where none is documented`);
      }
      checked++;
      return undefined;
    }
    if (!(media in content)) {
      failures.push(`${where}: ${media} is not among ${Object.keys(content).join(", ")}`);
      return undefined;
    }
    const status = encodeURIComponent(String(response.status));
    const at = shared
      ? `/${shared}`
      : `/paths/${schemaPath.replaceAll("~", "~0").replaceAll("/", "~1")}/${method}/responses/${status}`;
    const pointer = `spec#${at}/content/${media.replace("/", "~1")}/schema`;
    const check = ajv.getSchema(pointer);
    if (!check) {
      failures.push(`${where}: no schema at ${pointer}`);
      return undefined;
    }
    const body: unknown = await response.clone().json();
    if (!check(body)) {
      failures.push(`${where}: ${ajv.errorsText(check.errors)}`);
    }
    checked++;
    return undefined;
  },
};

const api = createClient<paths>({ baseUrl });
api.use(validate);

function expect<T>(what: string, data: T | undefined, error?: unknown): T {
  if (data === undefined) {
    console.error([...failures, `${what} failed: ${JSON.stringify(error)}`].join("\n"));
    process.exit(1);
  }
  return data;
}

const login = await api.POST("/api/v1/auth/login", { body: { email: "admin@example.com", password } });
const tokens = expect("sign in", login.data);
const auth = { Authorization: `Bearer ${tokens.access_token}` };

const me = expect("read me", (await api.GET("/api/v1/me", { headers: auth })).data);

const client = await api.POST("/api/v1/clients", {
  headers: auth,
  body: { kind: "company", name: "ООО «Ромашка»", phones: ["+7 495 123-45-67"], emails: ["info@romashka.ru"] },
});
const created: components["schemas"]["ClientDto"] = expect("create a client", client.data, client.error);

const interest = expect(
  "create an interest",
  (
    await api.POST("/api/v1/interests", {
      headers: auth,
      body: { title: "Office furniture for 40 seats", client_id: created.id, responsible_id: me.id },
    })
  ).data,
);

const moved = expect(
  "move the interest",
  (
    await api.POST("/api/v1/interests/{id}/transitions", {
      headers: { ...auth, "If-Match": `"${interest.version}"` },
      params: { path: { id: interest.id } },
      body: { to_stage: "proposal" },
    })
  ).data,
);
if (moved.stage !== "proposal") {
  failures.push(`the interest is at ${moved.stage}, not proposal`);
}

const board = expect("read the board", (await api.GET("/api/v1/board", { headers: auth })).data);
const onBoard = board.columns.some((c) => c.cards.some((card) => card.interest_id === interest.id));
if (!onBoard) {
  failures.push("the moved interest is not on the board");
}

// A problem: an interest that does not exist is a 404 problem+json.
const missing = await api.GET("/api/v1/interests/{id}", {
  headers: auth,
  params: { path: { id: "01a23ac5-0000-7000-8000-000000000000" } },
});
const problem = missing.error;
if (missing.response.status !== 404 || problem?.type !== "urn:crm:problem:not_found") {
  failures.push(`an unknown interest answered ${missing.response.status} ${JSON.stringify(problem)}`);
}

// A refused body: the problem names the field.
const refused = await api.POST("/api/v1/clients", { headers: auth, body: { kind: "company", name: "" } });
if (refused.response.status !== 400 || !refused.error?.errors?.some((e) => e.field === "name")) {
  failures.push(`an empty client name answered ${refused.response.status} ${JSON.stringify(refused.error)}`);
}

if (failures.length > 0) {
  console.error(failures.join("\n"));
  process.exit(1);
}
console.log(`client check: ${checked} responses valid against the spec`);
