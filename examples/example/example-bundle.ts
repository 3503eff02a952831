import { Bundle, type ConfigStore, type JsonObject, type RequestMessage, route } from 'bundlegate'

/**
 * The ThingsPro example bundle in TypeScript: GET /example returns the stored object, PUT /example replaces it
 * and persists it (atomically: a crash never leaves a broken data/example.json).
 */
export class ExampleBundle extends Bundle {
  model!: ConfigStore<JsonObject>

  override async init() {
    // data/example.json, created from data/example.json.factory on first start.
    this.model = await this.openStore<JsonObject>('example')
  }

  @route({ resource: '/example', methods: 'get' })
  get() {
    return this.model.data
  }

  @route({ resource: '/example', methods: 'put', schema: { type: 'object' } })
  async put(message: RequestMessage) {
    await this.model.replace(message.data as JsonObject)
    return this.model.data
  }
}
