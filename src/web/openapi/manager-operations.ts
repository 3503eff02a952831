import type { GatewayOperation } from './gateway-operations.ts'

type Obj = Record<string, unknown>

const json = (schema: Obj, description: string): Obj => ({
  description,
  content: { 'application/json': { schema } },
})
const err = (description: string): Obj => json({ $ref: '#/components/schemas/Error' }, description)
const STATES = ['installed', 'starting', 'running', 'stopping', 'stopped', 'backoff', 'broken']
const time = { type: ['string', 'null'], format: 'date-time' }

/** `ManagedInfo` of src/manager/types.ts. */
const MANAGED: Obj = {
  type: 'object',
  description: "The bundle manager's view of an installed bundle (docs/manager.md).",
  required: ['name', 'version', 'state', 'enabled', 'restarts', 'nextRetryAt'],
  properties: {
    name: { type: 'string' },
    version: { type: 'string' },
    previousVersion: { type: ['string', 'null'], description: 'The version kept for rollback.' },
    state: { enum: STATES },
    enabled: { type: 'boolean', description: 'Started at gateway start.' },
    priority: { type: 'integer' },
    dependencies: { type: 'array', items: { type: 'string' } },
    restarts: { type: 'integer' },
    lastExit: {
      type: ['object', 'null'],
      properties: {
        code: { type: ['integer', 'null'] },
        signal: { type: ['string', 'null'] },
        at: { type: 'string', format: 'date-time' },
        reason: { type: 'string' },
      },
    },
    startedAt: time,
    uptimeSec: { type: 'number' },
    pid: { type: ['integer', 'null'] },
    rssBytes: { type: ['integer', 'null'] },
    memoryLimitBytes: { type: ['integer', 'null'] },
    nextRetryAt: time,
    message: { type: 'string' },
    droppedLogLines: { type: 'integer' },
  },
}

/** An item of `GET /api/v1/bundles` (the `Bundle` schema, `managed` added, `registeredAt` null when unregistered). */
const ITEM: Obj = {
  type: 'object',
  required: ['name', 'role', 'resources', 'ttl', 'online', 'registeredAt', 'hook'],
  properties: {
    name: { type: 'string' },
    role: { type: 'string', description: 'Empty for an installed bundle that is not registered.' },
    description: { type: 'string' },
    resources: { type: 'array', items: { type: 'object' } },
    ttl: { type: 'integer' },
    online: { type: 'boolean' },
    registeredAt: { ...time, description: 'Null for an installed bundle that is not registered.' },
    hook: { type: 'array', items: { type: 'string' } },
    stats: { type: 'object' },
    managed: MANAGED,
  },
  additionalProperties: true,
}
const NAME_404 = ['404']
const control = (summary: string, description: string): GatewayOperation => ({
  summary,
  description,
  responses: { '200': json(ITEM, 'The bundle, with its new state in `managed`.') },
  errors: NAME_404,
})

/** The bundle manager's endpoints (docs/manager.md "HTTP API and CLI"), keyed like GATEWAY_OPERATIONS. */
export const MANAGER_OPERATIONS: Readonly<Record<string, GatewayOperation>> = {
  'GET /api/v1/bundles': {
    summary: 'List the bundles: every registered one, and every installed one',
    description:
      'Every registered component (a bundle started by hand against the broker too); those the bundle manager installed carry `managed`. Installed bundles that are not registered (stopped, starting, broken…) are listed after them with `online` false and `registeredAt` null. Without a bundle manager, no item has `managed`.',
    responses: { '200': json({ type: 'array', items: ITEM }, 'The bundles.') },
  },
  'GET /api/v1/bundles/:name': {
    summary: 'One bundle (registered or installed)',
    responses: { '200': json(ITEM, 'The bundle.') },
    errors: NAME_404,
  },
  'POST /api/v1/bundles': {
    summary: "Install or upgrade a bundle from a gzip'ed tar",
    description:
      "The body, a gzip'ed tar of a bundle directory, is streamed to the manager (at most `manager.uploadMaxBytes`). The manifest is checked (every problem listed), then its resources against the gateway's own paths and every installed or registered bundle. An upgrade keeps the previous version for rollback.",
    parameters: [
      {
        name: 'allowDowngrade',
        in: 'query',
        required: false,
        description: 'Allow a version lower than the installed one.',
        schema: { type: 'boolean', default: false },
      },
      {
        name: 'start',
        in: 'query',
        required: false,
        description: '`false`: install without starting it.',
        schema: { type: 'boolean', default: true },
      },
    ],
    requestBody: {
      required: true,
      content: {
        'application/gzip': { schema: { type: 'string', format: 'binary' } },
        'application/x-gzip': { schema: { type: 'string', format: 'binary' } },
      },
    },
    responses: {
      '201': json(ITEM, 'Installed (and started, unless `start=false` or disabled).'),
      '409': err('A resource collides with the gateway or another bundle; `message` names the owner.'),
    },
    errors: ['400', '413', '415'],
  },
  'POST /api/v1/bundles/:name/start': control('Start a managed bundle', 'Also re-arms a `broken` one.'),
  'POST /api/v1/bundles/:name/stop': control(
    'Stop a managed bundle',
    'SIGTERM, SIGKILL after `manager.stopTimeoutSec`; it stays `stopped` until started.',
  ),
  'POST /api/v1/bundles/:name/restart': control('Restart a managed bundle', 'Stop, then start.'),
  'POST /api/v1/bundles/:name/enable': control(
    'Enable a managed bundle',
    'It starts at gateway start (kept across restarts).',
  ),
  'POST /api/v1/bundles/:name/disable': control(
    'Disable a managed bundle',
    'It does not start at gateway start (kept across restarts).',
  ),
  'POST /api/v1/bundles/:name/rollback': control(
    'Roll a managed bundle back to its previous version',
    'The version kept by the last upgrade.',
  ),
  'DELETE /api/v1/bundles/:name': {
    summary: 'Uninstall a managed bundle',
    description:
      'Stops it, revokes its API token and broker credentials, removes its code; its data directory too with `purge=true`.',
    parameters: [
      {
        name: 'purge',
        in: 'query',
        required: false,
        description: 'Also remove its data directory.',
        schema: { type: 'boolean', default: false },
      },
    ],
    responses: { '204': { description: 'Uninstalled.' } },
    errors: NAME_404,
  },
  'GET /api/v1/bundles/:name/logs': {
    summary: "A managed bundle's log (tail, text download, live follow)",
    description:
      "The last lines (stdout, stderr and the manager's own lines about it). `format=text`: a text download, one `<time> <stream> <line>` per line. `follow=true`: Server-Sent Events, the tail first, then each new line, as events `log` whose data is a `LogLine`; at most 16 followers at once (503), a follower that reads too slowly is dropped.",
    parameters: [
      {
        name: 'tail',
        in: 'query',
        required: false,
        description: 'How many of the last lines (0 to 10000).',
        schema: { type: 'integer', minimum: 0, maximum: 10_000, default: 100 },
      },
      {
        name: 'format',
        in: 'query',
        required: false,
        schema: { enum: ['json', 'text'], default: 'json' },
      },
      {
        name: 'follow',
        in: 'query',
        required: false,
        schema: { type: 'boolean', default: false },
      },
    ],
    responses: {
      '200': {
        description: 'The lines, oldest first, and the lines the rate cap dropped since the gateway started.',
        content: {
          'application/json': {
            schema: {
              type: 'object',
              required: ['lines', 'dropped'],
              properties: {
                lines: {
                  type: 'array',
                  items: {
                    type: 'object',
                    required: ['at', 'stream', 'line'],
                    properties: {
                      at: { type: 'string', format: 'date-time' },
                      stream: { enum: ['stdout', 'stderr', 'manager'] },
                      line: { type: 'string' },
                    },
                  },
                },
                dropped: { type: 'integer' },
              },
            },
          },
          'text/plain': { schema: { type: 'string' } },
          'text/event-stream': { schema: { type: 'string' } },
        },
      },
    },
    errors: ['400', '404', '503'],
  },
}
