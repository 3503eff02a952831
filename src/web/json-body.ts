import type { FastifyInstance } from 'fastify'
import { createError } from '../errors.ts'
import { jsonDepth, MAX_JSON_DEPTH } from '../protocol/index.ts'

/** Request bodies must be JSON and at most 1 MiB ([HA-12]). */
export const BODY_LIMIT_BYTES = 1_048_576

/**
 * Only JSON bodies are accepted (anything else: 415). An empty body is no body (the resource gets `data: {}`);
 * invalid JSON is a 400 naming the parse error. A body nested deeper than `maxDepth` (`limits.jsonDepth`, §8.9) is
 * a 400 `GW_ERR_JSON_TOO_DEEP` before it is parsed: it never reaches the controller, so no lock is taken.
 */
export function installJsonBody(app: FastifyInstance, maxDepth = MAX_JSON_DEPTH): void {
  app.removeAllContentTypeParsers()
  app.addContentTypeParser(
    /^application\/([\w.+-]+\+)?json(\s*;.*)?$/i,
    { parseAs: 'buffer', bodyLimit: BODY_LIMIT_BYTES },
    (_request, body, done) => {
      const bytes = body as Buffer
      // §8.9: measured on the bytes, before decoding and parsing
      const depth = jsonDepth(bytes)
      if (depth > maxDepth) {
        done(createError('GW_ERR_JSON_TOO_DEEP', [depth, maxDepth]), undefined)
        return
      }
      const text = bytes.toString('utf8')
      if (text.trim() === '') {
        done(null, undefined)
        return
      }
      try {
        done(null, JSON.parse(text))
      } catch (err) {
        done(createError('GW_ERR_BAD_REQUEST', [`invalid JSON body: ${(err as Error).message}`]), undefined)
      }
    },
  )
}
