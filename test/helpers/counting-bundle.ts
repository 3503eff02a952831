/**
 * An instrumented bundle for the end-to-end tests, run as its own process:
 *
 *   BROKER_URL=mqtt://127.0.0.1:<port> BUNDLE_DIR=<dir with bundle.json> \
 *     node --conditions=bundlegate-dev --import tsx test/helpers/counting-bundle.ts
 *
 * It serves (the manifest in BUNDLE_DIR must declare these resources):
 * - `/counted` (GET, POST, PUT, DELETE): counts every request it receives and answers `{count, method, data}`;
 * - `/counted/count` (GET): the count so far, `{count}` (not counted itself);
 * - `/counted/hang` (GET): never answers, so the controller's ttl runs out.
 *
 * It prints `counting-bundle registered` on stdout once the controller has accepted its registration. It is a
 * program, not a module: importing it would start a bundle.
 * @module
 */

import { createBundle, type Json } from '../../src/index.ts'

let count = 0
const bundle = createBundle({ dir: process.cwd() }) // BUNDLE_DIR wins over dir
const counted = (method: string) => (message: { data: Json | undefined }) => {
  count += 1
  return { count, method, data: message.data ?? null }
}
bundle.get('/counted', counted('get'))
bundle.post('/counted', counted('post'))
bundle.put('/counted', counted('put'))
bundle.delete('/counted', counted('delete'))
bundle.get('/counted/count', () => ({ count }))
bundle.get('/counted/hang', () => new Promise<never>(() => {}))
await bundle.start()
process.stdout.write('counting-bundle registered\n')
