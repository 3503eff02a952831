import { Readable } from 'node:stream'
import {
  Bundle,
  BundleError,
  type ConfigStore,
  type JsonObject,
  type RequestMessage,
  route,
} from 'bundlegate'

/** Largest configuration file the import reads (the upload itself is bounded by the gateway's `files` limits). */
const MAX_IMPORT_BYTES = 1_048_576

/**
 * Export and import of a JSON configuration as a file, with the original web layer's file helpers
 * (wire-protocol.md §7; docs/files.md):
 *
 * - `GET /api/v1/helper/download?resource=/config-backup/export` → the gateway sends `POST /config-backup/export`
 *   with `{url, headers}`; the bundle publishes the configuration as a file (`this.files.put`) and answers `{url}`;
 *   the caller gets `{downloadLink}` and fetches it with its token.
 * - `POST /api/v1/helper/upload?resource=/config-backup/import` (multipart, one file) → the gateway stores the file
 *   and sends `POST /config-backup/import` with `data.file`; the bundle reads it (`message.file`), checks it and
 *   replaces its configuration.
 */
export class ConfigBackupBundle extends Bundle {
  config!: ConfigStore<JsonObject>

  override async init() {
    this.config = await this.openStore<JsonObject>('config')
  }

  @route({ resource: '/config-backup', methods: 'get' })
  get() {
    return this.config.data
  }

  @route({ resource: '/config-backup/export', methods: 'post' })
  async export() {
    const json = `${JSON.stringify(this.config.data, null, 2)}\n`
    // while answering the download helper, put() uploads to the target the gateway sent (message.upload)
    const url = await this.files.put(Readable.from([json]), {
      name: 'config-backup.json',
      type: 'application/json',
    })
    return { url }
  }

  @route({ resource: '/config-backup/import', methods: ['post', 'put'] })
  async import(message: RequestMessage) {
    const file = message.file
    if (!file) throw new BundleError(400, 'send the configuration as a file (multipart, one file part)')
    if (file.size !== undefined && file.size > MAX_IMPORT_BYTES)
      throw new BundleError(413, `the configuration file exceeds ${MAX_IMPORT_BYTES} bytes`)
    let parsed: unknown
    try {
      parsed = JSON.parse(await file.text())
    } catch (err) {
      throw new BundleError(400, `${file.name} is not JSON: ${(err as Error).message}`)
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new BundleError(400, `${file.name} must hold a JSON object`)
    await this.config.replace(parsed as JsonObject)
    return { imported: file.name, config: this.config.data }
  }
}
