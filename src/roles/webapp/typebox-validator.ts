/**
 * Fastify's validator compiler for the TypeBox schemas of `api-schemas.ts`. Compiled checks are cached
 * per schema object (tests build many webapps from the same schemas). Query strings, params and
 * headers are converted first (`?n=5` is a number where the schema says so); bodies are checked as
 * sent. A missing (or `null`) body is checked as `{}`, so a send without a body reports the first required field
 * (1008) rather than a type error. Failures carry the TypeBox error list, which the error handler
 * turns into one On-Prem error (`validation-errors.ts`).
 */
import type { FastifySchemaCompiler } from 'fastify';
import type { TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { Value } from 'typebox/value';

type Check = ReturnType<typeof Compile>;

const compiled = new WeakMap<object, Check>();

function checkFor(schema: TSchema): Check {
  let check = compiled.get(schema);
  if (check === undefined) {
    check = Compile(schema);
    compiled.set(schema, check);
  }
  return check;
}

export const typeboxValidatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const check = checkFor(schema);
  return (input: unknown) => {
    try {
      // Fastify passes a missing part as null.
      const value = httpPart === 'body' ? (input === undefined || input === null ? {} : input) : Value.Convert(schema, input);
      if (check.Check(value)) return { value };
      return { error: [...check.Errors(value)] as unknown as Error };
    } catch (error) {
      // Fastify would turn a throwing validator into a 500; a request we cannot check is the client's.
      const message = error instanceof Error ? error.message : String(error);
      return { error: [{ keyword: 'unreadable', schemaPath: '#', instancePath: '', params: {}, message }] as unknown as Error };
    }
  };
};
