/**
 * JSON Schema checks of the SDK's stores (config stores, collections): ajv 8 compiled once, errors on one line.
 * @module
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'

/** Compiles a JSON Schema with ajv 8: all errors, strict keywords, formats not checked (no ajv-formats). */
export function compileSchema(schema: object): ValidateFunction {
  return new Ajv({ allErrors: true, validateFormats: false, logger: false }).compile(schema)
}

/** Ajv errors as one readable line, e.g. "data/port must be integer, data must have required property 'host'". */
export function errorsText(errors: readonly ErrorObject[], dataVar = 'data'): string {
  return errors.map((e) => `${dataVar}${e.instancePath} ${e.message ?? 'is invalid'}`).join(', ')
}
