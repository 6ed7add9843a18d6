// A small JSON Schema (draft 2020-12) checker for the keywords fcgate's own schemas use:
// type, const, enum, properties, required, additionalProperties, propertyNames/pattern,
// items, minItems, minimum, anyOf, and $ref to "#/$defs/NAME". Any other keyword throws, so
// a schema cannot silently use more than is checked. Returns the list of violations.

type Schema = Record<string, unknown>;

const KNOWN = new Set([
  '$schema',
  'title',
  'description',
  '$defs',
  'type',
  'const',
  'enum',
  'properties',
  'required',
  'additionalProperties',
  'propertyNames',
  'pattern',
  'items',
  'minItems',
  'minimum',
  'anyOf',
  '$ref',
]);

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function matchesType(v: unknown, t: string): boolean {
  const actual = typeOf(v);
  return actual === t || (t === 'number' && actual === 'integer');
}

export function validate(schema: Schema, value: unknown): string[] {
  const errors: string[] = [];
  const root = schema;
  const walk = (s: Schema, v: unknown, path: string): void => {
    for (const k of Object.keys(s))
      if (!KNOWN.has(k)) throw new Error(`json-schema checker: keyword ${k} at ${path} is not supported`);
    if (typeof s['$ref'] === 'string') {
      const m = /^#\/\$defs\/(.+)$/.exec(s['$ref']);
      const target = m === null ? undefined : (root['$defs'] as Record<string, Schema> | undefined)?.[m[1]!];
      if (target === undefined) throw new Error(`json-schema checker: unresolved $ref ${s['$ref']}`);
      walk(target, v, path);
      return;
    }
    if (Array.isArray(s['anyOf'])) {
      const ok = (s['anyOf'] as Schema[]).some(
        (sub) => validate({ ...sub, $defs: root['$defs'] } as Schema, v).length === 0,
      );
      if (!ok) errors.push(`${path}: matches none of anyOf`);
      return;
    }
    if ('const' in s && JSON.stringify(s['const']) !== JSON.stringify(v))
      errors.push(`${path}: expected ${JSON.stringify(s['const'])}`);
    if (Array.isArray(s['enum']) && !s['enum'].some((e) => JSON.stringify(e) === JSON.stringify(v)))
      errors.push(`${path}: ${JSON.stringify(v)} not in enum`);
    if (typeof s['type'] === 'string' && !matchesType(v, s['type'])) {
      errors.push(`${path}: expected ${s['type']}, got ${typeOf(v)}`);
      return;
    }
    if (typeof s['minimum'] === 'number' && typeof v === 'number' && v < s['minimum'])
      errors.push(`${path}: ${v} < ${s['minimum']}`);
    if (typeof s['pattern'] === 'string' && typeof v === 'string' && !new RegExp(s['pattern'], 'u').test(v))
      errors.push(`${path}: does not match ${s['pattern']}`);
    if (Array.isArray(v)) {
      if (typeof s['minItems'] === 'number' && v.length < s['minItems'])
        errors.push(`${path}: fewer than ${s['minItems']} items`);
      if (s['items'] !== undefined)
        for (const [i, item] of v.entries()) walk(s['items'] as Schema, item, `${path}[${i}]`);
    }
    if (typeOf(v) === 'object') {
      const o = v as Record<string, unknown>;
      const props = (s['properties'] ?? {}) as Record<string, Schema>;
      for (const r of (s['required'] ?? []) as string[]) if (!(r in o)) errors.push(`${path}: missing ${r}`);
      for (const [k, val] of Object.entries(o)) {
        if (s['propertyNames'] !== undefined) walk(s['propertyNames'] as Schema, k, `${path}{${k}}`);
        if (k in props) walk(props[k]!, val, `${path}.${k}`);
        else if (s['additionalProperties'] === false) errors.push(`${path}: unexpected property ${k}`);
        else if (typeof s['additionalProperties'] === 'object')
          walk(s['additionalProperties'] as Schema, val, `${path}.${k}`);
      }
    }
  };
  walk(schema, value, '$');
  return errors;
}
