/**
 * Child process of the crash test (test/sdk/atomic-write.test.ts): saves the ConfigStore `<dir>/data/<name>.json`
 * in a loop with ever-changing ~200 KB content and prints each counter once its save has resolved, until killed.
 *
 * Usage: node --conditions=bundlegate-dev --import tsx test/helpers/crash-writer.ts <dir> [name]
 * @module
 */

import { createHash } from 'node:crypto'
import { resolve } from 'node:path'
import { ConfigStore } from '../../src/sdk/config-store.ts'

/** The document written for `counter`; `checksum` covers everything else. */
export function crashDocument(counter: number): { counter: number; payload: string[]; checksum: string } {
  const payload: string[] = []
  for (let i = 0; i < 200; i++)
    payload.push(`${counter}:${i}:`.padEnd(1000, String.fromCharCode(97 + ((counter + i) % 26))))
  return { counter, payload, checksum: checksumOf(counter, payload) }
}

/** sha256 of the counter and payload. */
export function checksumOf(counter: number, payload: readonly string[]): string {
  return createHash('sha256')
    .update(JSON.stringify([counter, payload]))
    .digest('hex')
}

async function main(dir: string, name: string): Promise<void> {
  const store = await ConfigStore.open(name, dir, { backupIntervalMs: 0, defaults: crashDocument(0) })
  const start = (store.data as { counter?: number }).counter ?? 0
  for (let counter = start + 1; ; counter++) {
    store.data = crashDocument(counter)
    await store.save()
    process.stdout.write(`${counter}\n`)
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === import.meta.filename) {
  const [dir, name = 'crash'] = process.argv.slice(2)
  if (!dir) {
    process.stderr.write('usage: crash-writer.ts <dir> [name]\n')
    process.exit(2)
  }
  main(dir, name).catch((err: unknown) => {
    process.stderr.write(`${String(err)}\n`)
    process.exit(1)
  })
}
