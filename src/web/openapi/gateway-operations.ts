import { FILE_OPERATIONS } from './file-operations.ts'
import { MANAGER_OPERATIONS } from './manager-operations.ts'

type Obj = Record<string, unknown>

/** How the gateway documents one of its own endpoints; security and the error responses are added by policy. */
export interface GatewayOperation {
  summary: string
  description?: string
  parameters?: Obj[]
  requestBody?: Obj
  /** Success responses (errors come from the route's auth policy and `errors`). */
  responses: Record<string, Obj>
  /** Extra error statuses this endpoint answers. */
  errors?: string[]
}

const json = (schema: Obj, description: string): Obj => ({
  description,
  content: { 'application/json': { schema } },
})
const ref = (name: string): Obj => ({ $ref: `#/components/schemas/${name}` })
const jsonBody = (schema: Obj): Obj => ({ required: true, content: { 'application/json': { schema } } })
/** An object of required string fields, e.g. a username and a password. */
const strings = (...names: string[]): Obj => ({
  type: 'object',
  required: names,
  properties: Object.fromEntries(names.map((n) => [n, { type: 'string' }])),
})

/**
 * The gateway's own endpoints ([HA-9], [HA-10], [HA-11]), keyed by `METHOD url` as registered with fastify. Only the
 * ones actually registered appear in the document; a registered endpoint missing here still appears, with a plain
 * description.
 */
export const GATEWAY_OPERATIONS: Readonly<Record<string, GatewayOperation>> = {
  ...FILE_OPERATIONS,
  'GET /health': {
    summary: 'Liveness: the process serves HTTP',
    responses: {
      '200': json(
        { type: 'object', required: ['status'], properties: { status: { const: 'ok' } } },
        'The web service is up.',
      ),
    },
  },
  'GET /ready': {
    summary: 'Readiness: broker and controller are up',
    responses: {
      '200': json(
        { type: 'object', required: ['status'], properties: { status: { const: 'ready' } } },
        'Ready to route requests.',
      ),
      '503': json(
        { allOf: [ref('Error'), { type: 'object', properties: { status: { const: 'not ready' } } }] },
        'Not ready (starting, stopping, broker connection lost); `message` says why.',
      ),
    },
  },
  'GET /api/v1/tokens': {
    summary: 'List API tokens (never their secrets)',
    responses: {
      '200': json({ type: 'array', items: ref('Token') }, 'Every token, with its effective rate limit.'),
    },
  },
  'POST /api/v1/tokens': {
    summary: 'Create an API token',
    description: 'The secret is in the answer (`token`) and is never shown again.',
    requestBody: jsonBody(ref('TokenRequest')),
    responses: { '201': json(ref('NewToken'), 'The token, with its secret.') },
    errors: ['400', '413', '415'],
  },
  'DELETE /api/v1/tokens/:id': {
    summary: 'Revoke an API token',
    responses: { '204': { description: 'Revoked.' } },
    errors: ['404'],
  },
  'GET /api/v1/bundles': {
    summary: 'List the registered bundles',
    responses: { '200': json({ type: 'array', items: ref('Bundle') }, 'Every registered component.') },
  },
  'GET /api/v1/metrics/bundles': {
    summary: 'Traffic per bundle over the last minutes',
    description:
      "The console's overview (docs/observability.md): calls, calls per second, errors (500 and above), error rate and p50/p99 latency (bucket upper bounds, at most twice the real value) per bundle, from the gateway's own counters. Absent when `metrics.enabled` is false.",
    parameters: [
      {
        name: 'minutes',
        in: 'query',
        required: false,
        description: 'The window, 1 to 15 (clamped); default 5.',
        schema: { type: 'integer', minimum: 1, maximum: 15, default: 5 },
      },
    ],
    responses: {
      '200': json(
        {
          type: 'object',
          required: ['minutes', 'bundles'],
          properties: {
            minutes: { type: 'integer' },
            bundles: {
              type: 'array',
              items: {
                type: 'object',
                required: ['bundle', 'calls', 'perSecond', 'errors', 'errorRate', 'p50Ms', 'p99Ms'],
                properties: {
                  bundle: { type: 'string' },
                  calls: { type: 'integer' },
                  perSecond: { type: 'number' },
                  errors: { type: 'integer' },
                  errorRate: { type: 'number' },
                  p50Ms: { type: ['number', 'null'] },
                  p99Ms: { type: ['number', 'null'] },
                },
              },
            },
          },
        },
        'Busiest bundle first; bundles without calls in the window are left out.',
      ),
    },
  },
  'GET /api/v1/openapi.json': {
    summary: 'This document',
    description:
      'OpenAPI 3.1 of the gateway and of every registered resource, rebuilt when a bundle comes or goes.',
    responses: { '200': json({ type: 'object' }, 'The OpenAPI document.') },
  },
  'GET /api/v1/events': {
    summary: 'Event stream (Server-Sent Events)',
    description:
      'Every event a bundle publishes on a matching resource (`+` one level, `#` any levels), one `data:` line of JSON per event; heartbeat comments; `Last-Event-ID` resumes from a bounded in-memory ring. Counts once against the rate limit, at connect.',
    parameters: [
      {
        name: 'resource',
        in: 'query',
        required: true,
        description: 'Resource pattern; repeat for several.',
        schema: { type: 'array', items: { type: 'string' } },
        style: 'form',
        explode: true,
      },
      { name: 'Last-Event-ID', in: 'header', required: false, schema: { type: 'string' } },
    ],
    responses: {
      '200': {
        description: 'The stream; each event is an `Event` as JSON.',
        content: {
          'text/event-stream': {
            schema: { type: 'string', description: 'Each `data:` line is one `Event` as JSON.' },
            'x-event-schema': ref('Event'),
          },
        },
      },
    },
    errors: ['400', '503'],
  },
  'GET /api/v1/ws': {
    summary: 'Event stream (WebSocket)',
    description:
      'The same events as `/api/v1/events` over a WebSocket; the client sends subscribe and unsubscribe messages. Counts once against the rate limit, at connect.',
    responses: { '101': { description: 'Switching to the WebSocket protocol.' } },
    errors: ['400', '503'],
  },
  'POST /api/v1/auth/login': {
    summary: 'Console login',
    requestBody: jsonBody(strings('username', 'password')),
    responses: {
      '200': json(
        {
          type: 'object',
          required: ['username', 'mustChangePassword', 'csrfToken'],
          properties: {
            username: { type: 'string' },
            mustChangePassword: { type: 'boolean' },
            csrfToken: { type: 'string' },
          },
        },
        'Logged in; the session cookie is set.',
      ),
    },
    errors: ['400', '401', '415', '429'],
  },
  'POST /api/v1/auth/logout': {
    summary: 'Console logout',
    responses: { '204': { description: 'Logged out; the cookie is cleared.' } },
  },
  'POST /api/v1/auth/password': {
    summary: "Change the console user's password",
    requestBody: jsonBody(strings('current', 'next')),
    responses: { '204': { description: 'Changed.' } },
    errors: ['400', '401', '403', '415'],
  },
  'GET /api/v1/auth/console': {
    summary: 'Facts the console shows about the gateway',
    responses: {
      '200': json(
        {
          type: 'object',
          required: ['rootTokenFile', 'sessionIdleSec', 'sessionMaxSec'],
          properties: {
            rootTokenFile: { type: ['string', 'null'], description: 'Where the root token file is.' },
            sessionIdleSec: { type: 'integer' },
            sessionMaxSec: { type: 'integer' },
          },
        },
        'The facts.',
      ),
    },
  },
  'GET /api/v1/auth/me': {
    summary: 'Who the console session is',
    responses: {
      '200': json(
        {
          type: 'object',
          required: ['username', 'scope'],
          properties: { username: { type: 'string' }, scope: ref('Scope') },
        },
        'The session user.',
      ),
    },
    errors: ['401'],
  },
  // the bundle manager's (its `GET /api/v1/bundles` describes the `managed` field too)
  ...MANAGER_OPERATIONS,
}
