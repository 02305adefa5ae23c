// Runs DLE's own Postman collection with newman against a running engine and writes what every
// request answered and every assertion said as JSON (tests/integration/postman_test.cc decides).
//
//   node run_collection.mjs COLLECTION PLAN REPORT
//
// The collection's requests, headers and test scripts run as DLE ships them. Its example values
// are random ("id": "magna cupidatat"), so PLAN gives real ones: per request ("METHOD /path", as
// in the collection), `path` sets path variables, `body` replaces the values of fields the
// example body has (nested objects field by field; no field is added or removed), `headers`
// replaces header values; `capture` copies fields of a JSON answer into variables that later
// values use as {{name}} (like a Postman user's test script, but outside the collection).
// PLAN also has `baseUrl` and `token` (the collection's {{baseUrl}} and {{verificationToken}}).
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const newman = require('newman');
const Ajv = require('ajv');

const [collectionPath, planPath, reportPath] = process.argv.slice(2);
if (!reportPath) {
  console.error('usage: node run_collection.mjs COLLECTION PLAN REPORT');
  process.exit(2);
}
const collection = JSON.parse(readFileSync(collectionPath, 'utf8'));
const plan = JSON.parse(readFileSync(planPath, 'utf8'));

const keyOf = (request) => {
  const path = (request.url.path || []).join('/');
  return `${request.method} /${path}`;
};

// Replaces the values of fields the example has; keeps its shape.
function replaceValues(example, real, where) {
  if (example === null || typeof example !== 'object' || Array.isArray(example)) return real;
  const out = { ...example };
  for (const [key, value] of Object.entries(real)) {
    if (!(key in example)) throw new Error(`${where}: the example body has no field "${key}"`);
    out[key] = replaceValues(example[key], value, `${where}.${key}`);
  }
  return out;
}

// The collection's schemas use formats its own validator does not know ("int", "float64"), so
// its "Schema is valid" tests fail to compile on any server. Each schema is also checked here,
// with unknown formats ignored and DLE's Go models winning where the schema contradicts them
// (engine/pkg/models): an "integer" of format "float64" is a float64 (cloningTime,
// expectedCloningTime, compressRatio, total_duration), and the *LocalTime fields without
// omitempty (a clone's deleteAt and createdAt, a snapshot's createdAt and dataStateAt,
// retrieval's lastRefresh and nextRefresh) may be null.
// Retrieval's alerts are a map[AlertType]Alert (an object of {level, message, lastSeen, count},
// null when nil; the schema says an array of strings) and its activity a pointer (null outside
// a refresh).
const kNullableByModel = new Set(['deleteAt', 'createdAt', 'dataStateAt', 'lastRefresh', 'nextRefresh']);
const kRetrievalByModel = {
  alerts: () => ({
    type: ['object', 'null'],
    additionalProperties: {
      type: 'object',
      required: ['level', 'message', 'lastSeen', 'count'],
      properties: {
        level: { type: 'string' },
        message: { type: 'string' },
        lastSeen: { type: 'string' },
        count: { type: 'integer' },
      },
    },
  }),
  activity: (schema) => ({ anyOf: [schema, { type: 'null' }] }),
};
function modelsWin(schema) {
  if (Array.isArray(schema)) return schema.map(modelsWin);
  if (schema === null || typeof schema !== 'object') return schema;
  const out = {};
  for (const [key, value] of Object.entries(schema)) out[key] = modelsWin(value);
  if (out.type === 'integer' && out.format === 'float64') out.type = 'number';
  if (out.properties && out.properties.alerts && out.properties.activity) {
    for (const [name, widen] of Object.entries(kRetrievalByModel)) out.properties[name] = widen(out.properties[name]);
  }
  if (out.properties) {
    for (const name of Object.keys(out.properties)) {
      if (kNullableByModel.has(name) && out.properties[name].type === 'string') {
        out.properties[name] = { ...out.properties[name], type: ['string', 'null'] };
      }
    }
  }
  return out;
}
const ajv = new Ajv({ unknownFormats: 'ignore', allErrors: true });
const schemaOf = {};  // plan key -> the schema from the request's test script

const used = new Set();
function applyPlan(items) {
  for (const item of items) {
    if (item.item) {
      applyPlan(item.item);
      continue;
    }
    const key = keyOf(item.request);
    for (const event of item.event || []) {
      const script = (event.script && event.script.exec || []).join('\n');
      const match = /^const schema = (.*)$/m.exec(script);
      if (event.listen === 'test' && match) schemaOf[key] = modelsWin(JSON.parse(match[1]));
    }
    const change = (plan.requests || {})[key];
    if (!change) continue;
    used.add(key);
    for (const [name, value] of Object.entries(change.path || {})) {
      const variable = (item.request.url.variable || []).find((v) => v.key === name);
      if (!variable) throw new Error(`${key}: no path variable "${name}"`);
      variable.value = value;
    }
    for (const [name, value] of Object.entries(change.headers || {})) {
      const header = (item.request.header || []).find((h) => h.key === name);
      if (!header) throw new Error(`${key}: no header "${name}"`);
      header.value = value;
    }
    if (change.body) {
      const example = JSON.parse(item.request.body.raw);
      item.request.body.raw = JSON.stringify(replaceValues(example, change.body, key), null, 2);
    }
  }
}
applyPlan(collection.item);
for (const key of Object.keys(plan.requests || {})) {
  if (!used.has(key)) throw new Error(`the plan names ${key}, which the collection lacks`);
}

const report = { requests: [], assertions: [] };
let run = null;
const captured = {};
const emitter = newman.run(
  {
    collection,
    environment: {
      values: [
        { key: 'baseUrl', value: plan.baseUrl, type: 'string' },
        { key: 'verificationToken', value: plan.token, type: 'secret' },
      ],
    },
    reporters: ['cli'],
    reporter: { cli: { noSummary: false } },
    timeoutRequest: 120000,
  },
  (error) => {
    if (error) {
      console.error(`newman: ${error.message}`);
      process.exit(2);
    }
    writeFileSync(reportPath, JSON.stringify(report, null, 2));
  },
);
emitter.on('start', (error, args) => {
  run = args.run;
});
// Keyed as in the plan: at 'request' the item's URL is already resolved.
let currentKey = '';
emitter.on('beforeItem', (error, args) => {
  currentKey = keyOf(args.item.request);
});
emitter.on('request', (error, args) => {
  const key = currentKey;
  const entry = { key, name: args.item.name, url: args.request.url.toString() };
  if (error) {
    entry.error = error.message;
  } else {
    entry.code = args.response.code;
    entry.contentType = args.response.headers.get('Content-Type') || '';
    entry.body = args.response.stream ? args.response.stream.toString('utf8') : '';
    const capture = ((plan.requests || {})[key] || {}).capture || {};
    if (Object.keys(capture).length) {
      let json = null;
      try {
        json = JSON.parse(entry.body);
      } catch {
        entry.error = `cannot capture ${Object.keys(capture)} from a body that is not JSON`;
      }
      for (const [variable, field] of Object.entries(capture)) {
        if (json && json[field] !== undefined) captured[variable] = String(json[field]);
      }
    }
  }
  if (schemaOf[key] && entry.code !== undefined) {
    let json;
    let error;
    try {
      json = JSON.parse(entry.body);
    } catch {
      error = 'the body is not JSON';
    }
    if (!error && !ajv.validate(schemaOf[key], json)) error = ajv.errorsText(ajv.errors);
    report.assertions.push({ key, name: `${key} - Schema is valid (DLE's models win)`, passed: !error, error });
  }
  report.requests.push({ ...entry, body: entry.body.slice(0, 2000) });
});
// After the item's test scripts: their sandbox writes its copy of the environment back when
// they end, which would drop a variable set any earlier.
emitter.on('item', () => {
  for (const [variable, value] of Object.entries(captured)) run.state.environment.set(variable, value);
});
emitter.on('assertion', (error, args) => {
  report.assertions.push({
    key: currentKey,
    name: args.assertion,
    passed: !error,
    error: error ? error.message : undefined,
  });
});
