/**
 * Turns the errors of a TypeBox schema check into one On-Prem error naming the field: a missing
 * field is 1008, anything else 1009, unless the route maps the field to a more specific entry
 * (`text.body` too long → 1001, `recipient_type` → 1002). Fields are written as clients write them:
 * `text.body`, `contacts[3]`.
 *
 * Which error wins when there are several: first the route's `fieldsFirst` (in that order: e.g. the
 * message `type` decides whether the rest even applies), then missing fields, then the first other.
 */
import type { ErrorName } from '../../core/errors.js';
import { quote } from './api-errors.js';

/** One error of `typebox/compile`'s `Errors()` (the AJV shape). */
export interface SchemaError {
  readonly keyword: string;
  readonly schemaPath: string;
  readonly instancePath: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly message: string;
}

/** A route's override for one field: which registry entry, and optionally the details sentence. */
export interface FieldRule {
  readonly error: ErrorName;
  readonly details?: (value: unknown) => string;
  /** The schema keywords the rule applies to (e.g. only `maxLength`); all but `required` when absent. */
  readonly keywords?: readonly string[];
}

export interface ValidationRules {
  readonly fieldRules?: Readonly<Record<string, FieldRule>>;
  readonly fieldsFirst?: readonly string[];
}

export interface ValidationProblem {
  readonly name: ErrorName;
  readonly details: string;
}

type Json = Readonly<Record<string, unknown>>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `/contacts/3/x` → `contacts[3].x` (with a prefix such as `query.`). */
export function fieldName(instancePath: string, prefix = ''): string {
  const segments = instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  let name = '';
  for (const segment of segments) name += /^[0-9]+$/.test(segment) ? `[${segment}]` : name === '' ? segment : `.${segment}`;
  return prefix + name;
}

function pointer(root: unknown, path: string): unknown {
  let node = root;
  for (const segment of path.split('/').slice(1)) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Json)[segment.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return node;
}

/** A short description of what a schema accepts: `a string`, `"sms" or "voice"`, `a number or a string`. */
export function describeSchema(schema: unknown): string {
  if (!isObject(schema)) return 'a valid value';
  if ('const' in schema) return JSON.stringify(schema['const']);
  if (Array.isArray(schema['enum'])) return `one of ${schema['enum'].map((v) => JSON.stringify(v)).join(', ')}`;
  if (Array.isArray(schema['anyOf'])) return schema['anyOf'].map(describeSchema).join(' or ');
  if (typeof schema['type'] === 'string') return typeName(schema['type']);
  return 'a valid value';
}

function typeName(type: string): string {
  const names: Record<string, string> = {
    object: 'a JSON object',
    array: 'an array',
    string: 'a string',
    number: 'a number',
    integer: 'an integer',
    boolean: 'true or false',
    null: 'null',
  };
  return names[type] ?? `of type ${type}`;
}

interface Candidate {
  readonly field: string;
  readonly missing: boolean;
  readonly error: SchemaError;
}

function candidateOf(error: SchemaError, prefix: string): Candidate | null {
  // The branches of an anyOf report their own failures; the anyOf error itself says it better.
  if (/\/anyOf\/[0-9]+/.test(error.schemaPath)) return null;
  if (error.keyword === 'required') {
    const missing = error.params['requiredProperties'];
    const first = Array.isArray(missing) ? String(missing[0]) : '';
    return { field: fieldName(`${error.instancePath}/${first}`, prefix), missing: true, error };
  }
  if (error.keyword === 'additionalProperties') {
    const extra = error.params['additionalProperties'];
    const first = Array.isArray(extra) ? String(extra[0]) : '';
    return { field: fieldName(`${error.instancePath}/${first}`, prefix), missing: false, error };
  }
  // AJV reports an unknown property twice: once as the `false` additionalProperties schema failing.
  if (error.keyword === 'boolean' && error.schemaPath.endsWith('/additionalProperties')) return null;
  return { field: fieldName(error.instancePath, prefix), missing: false, error };
}

function sentence(candidate: Candidate, schema: unknown): string {
  const { field, error } = candidate;
  const p = error.params;
  const what = field === '' ? 'the request body' : field;
  switch (error.keyword) {
    case 'required':
      return `${what} is required`;
    case 'additionalProperties':
      return `${what} is not a known parameter`;
    case 'type':
      return `${what} must be ${typeName(String(p['type']))}`;
    case 'const':
      return `${what} must be ${JSON.stringify(p['allowedValue'])}`;
    case 'enum':
      return `${what} must be one of ${(Array.isArray(p['allowedValues']) ? p['allowedValues'] : []).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'anyOf':
      return `${what} must be ${describeSchema(pointer(schema, error.schemaPath.slice(1)))}`;
    case 'minLength':
      return p['limit'] === 1 ? `${what} must not be empty` : `${what} must be at least ${String(p['limit'])} characters long`;
    case 'maxLength':
      return `${what} must be at most ${String(p['limit'])} characters long`;
    case 'minItems':
      return `${what} must have at least ${String(p['limit'])} items`;
    case 'maxItems':
      return `${what} must have at most ${String(p['limit'])} items`;
    case 'minimum':
      return `${what} must be at least ${String(p['limit'])}`;
    case 'maximum':
      return `${what} must be at most ${String(p['limit'])}`;
    case 'pattern':
      return `${what} has an invalid format`;
    default:
      return `${what} is not valid (${error.message})`;
  }
}

/**
 * The one problem to report for a failed check of `value` (the request part named by `context`)
 * against `schema`.
 */
export function describeValidation(
  errors: readonly SchemaError[],
  context: string,
  value: unknown,
  schema: unknown,
  rules: ValidationRules,
): ValidationProblem {
  const prefix = context === 'querystring' ? 'query.' : context === 'headers' ? 'header ' : '';
  const candidates = errors.map((e) => candidateOf(e, prefix)).filter((c): c is Candidate => c !== null);
  const first = rules.fieldsFirst ?? [];
  const rank = (c: Candidate): number => {
    const at = first.indexOf(c.field);
    if (at >= 0) return at;
    return first.length + (c.missing ? 0 : 1);
  };
  const chosen = candidates.map((c, i) => ({ c, i })).sort((a, b) => rank(a.c) - rank(b.c) || a.i - b.i)[0]?.c;
  if (chosen === undefined) return { name: 'PARAMETER_INVALID', details: `the request ${context} is not valid` };
  if (chosen.field === '' && chosen.error.keyword === 'type') {
    return { name: 'INVALID_REQUEST', details: `the request ${context} must be a JSON object` };
  }
  const candidateRule = chosen.missing ? undefined : rules.fieldRules?.[chosen.field];
  const rule = candidateRule?.keywords === undefined || candidateRule.keywords.includes(chosen.error.keyword) ? candidateRule : undefined;
  const details = sentence(chosen, schema);
  if (rule !== undefined) {
    return { name: rule.error, details: rule.details?.(pointer(value, chosen.error.instancePath)) ?? details };
  }
  return { name: chosen.missing ? 'PARAMETER_MISSING' : 'PARAMETER_INVALID', details };
}

/** `details` helper for rules that quote the offending value. */
export function quoted(value: unknown): string {
  return typeof value === 'string' ? quote(value) : JSON.stringify(value) ?? 'undefined';
}
