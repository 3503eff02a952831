import { Bundle, type ConfigStore, type JsonObject, type RequestMessage, route } from 'bundlegate'

/**
 * The ThingsPro example bundle in TypeScript: GET /example returns the stored object, PUT /example replaces it
 * and persists it (atomically: a crash never leaves a broken data/example.json), then publishes the change as an
 * EVENT on /example.
 */
/** What /example holds: any JSON object, stored as sent (published in the gateway's OpenAPI document). */
const EXAMPLE_OBJECT = {
  type: 'object',
  description: 'The stored object: any JSON object, kept as sent.',
  examples: [{ key: 'value' }],
}

export class ExampleBundle extends Bundle {
  model!: ConfigStore<JsonObject>

  override async init() {
    // data/example.json, created from data/example.json.factory on first start.
    this.model = await this.openStore<JsonObject>('example')
  }

  @route({ resource: '/example', methods: 'get', schema: { response: EXAMPLE_OBJECT } })
  get() {
    return this.model.data
  }

  @route({ resource: '/example', methods: 'put', schema: { body: EXAMPLE_OBJECT, response: EXAMPLE_OBJECT } })
  async put(message: RequestMessage) {
    await this.model.replace(message.data as JsonObject)
    // Tell whoever watches /example (views, and HTTP clients of /api/v1/events) that it changed: no polling needed.
    // The change is saved whatever happens to the event, so a failed publish does not fail the PUT.
    await this.publish.event
      .put('/example', this.model.data)
      .catch((err: Error) => this.log.warn({ err: err.message }, 'change event not published'))
    return this.model.data
  }
}
