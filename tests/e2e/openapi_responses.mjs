// Checks every answer the integration suites received (tests/integration's harness writes them,
// one JSON line each, when MOTORPOOL_RESPONSE_LOG is set) against api/openapi.json: the status must
// be documented for its route and method, and a JSON body must match the documented schema.
//   node openapi_responses.mjs path/to/openapi.json path/to/responses.jsonl
import {readFileSync} from 'node:fs';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const [documentPath, logPath] = process.argv.slice(2);
const document = JSON.parse(readFileSync(documentPath, 'utf8'));
const ajv = new Ajv2020({strict: false, allErrors: true, validateFormats: true});
addFormats(ajv);
// Every $ref in the document points into components: register it whole under a name of its own.
ajv.addSchema({$id: 'openapi', components: document.components});
const rewrite = (node) => {
  if (Array.isArray(node)) return node.map(rewrite);
  if (node && typeof node === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(node)) {
      out[k] = k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? 'openapi' + v : rewrite(v);
    }
    return out;
  }
  return node;
};
const resolve = (node) => {  // a response or component reference, followed
  while (node && node.$ref) {
    node = node.$ref.replace(/^#\//, '').split('/').reduce((o, k) => o?.[k], document);
  }
  return node;
};

const lines = readFileSync(logPath, 'utf8').split('\n').filter(Boolean);
if (lines.length === 0) {
  console.error('no responses were recorded: is MOTORPOOL_RESPONSE_LOG set for the integration suite?');
  process.exit(1);
}
const problems = new Map();  // one report per (route, method, status, problem)
const validators = new Map();
let checked = 0;
for (const line of lines) {
  const r = JSON.parse(line);
  if (r.route.startsWith('/test/') || r.route.startsWith('/sim/')) continue;  // suite-only routes, the simulator
  // The original services' surfaces (MOTORPOOL_COMPAT), at their root or under the suite's
  // prefixes (/catalog, /ev; every surface under /c/<surface> in the authorisation walk):
  // documented field by field in docs/compatibility.md, not in
  // motorpool's own API. /exchange is also the callback at SMARTCAR_REDIRECT_URI's path.
  const compat = new RegExp([
    String.raw`^\/(catalog|ev|c\/(si|sw|ma|cb|vc))(\/|$)`,  // the suite's prefixed mounts
    String.raw`^\/(api\/(?!v1\/)|v1\/ev\/|drivers\/|fleet\/|grid\/cluster$|analytics\/fairness$|auth\/smartcar\/)`,
    String.raw`^\/(webhook|clear-webhook-data|login|exchange|chat\/ws)$`,
  ].join('|'));
  if (compat.test(r.route)) continue;
  const where = `${r.method} ${r.route} ${r.status}`;
  const operation = document.paths[r.route]?.[r.method.toLowerCase()];
  if (!operation) {
    problems.set(where + ' undocumented operation', where + ': the operation is not in the document');
    continue;
  }
  const response = resolve(operation.responses?.[String(r.status)] ?? operation.responses?.default);
  if (!response) {
    problems.set(where + ' status', `${where}: status ${r.status} is not documented for this operation`);
    continue;
  }
  checked++;
  const media = r.content_type.split(';')[0].trim();
  const content = response.content?.[media];
  if (!media.endsWith('json')) continue;
  if (!content) {
    problems.set(where + ' media', `${where}: ${media} is not documented for this answer`);
    continue;
  }
  if (!content.schema) continue;
  const key = `${where} ${media}`;
  if (!validators.has(key)) validators.set(key, ajv.compile(rewrite(content.schema)));
  const validate = validators.get(key);
  let body;
  try {
    body = JSON.parse(r.body);
  } catch {
    problems.set(where + ' json', `${where}: the body is not JSON`);
    continue;
  }
  if (!validate(body)) {
    const first = validate.errors[0];
    problems.set(`${where} ${first.instancePath} ${first.message}`,
                 `${where}: ${first.instancePath || '(body)'} ${first.message} ${JSON.stringify(first.params)}`);
  }
}
for (const p of problems.values()) console.log('MISMATCH ' + p);
console.log(`${checked} answers of ${lines.length} checked against the document; ${problems.size} mismatches`);
console.log(`${problems.size === 0 ? 1 : 0} passed, ${problems.size === 0 ? 0 : 1} failed`);
process.exit(problems.size === 0 ? 0 : 1);
