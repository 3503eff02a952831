import { ERRORS } from '../../errors.ts'
import { SESSION_COOKIE } from '../auth.ts'

type Obj = Record<string, unknown>

const errorResponse = (description: string, extra: Obj = {}): Obj => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
  ...extra,
})

/** The error responses every operation refers to (`#/components/responses/<status>`), by HTTP status. */
export const ERROR_RESPONSES: Readonly<Record<string, string>> = {
  '400': 'BadRequest',
  '401': 'Unauthorized',
  '403': 'Forbidden',
  '404': 'NotFound',
  '405': 'MethodNotAllowed',
  '413': 'PayloadTooLarge',
  '415': 'UnsupportedMediaType',
  '423': 'Locked',
  '429': 'RateLimited',
  '500': 'InternalError',
  '502': 'BadGateway',
  '503': 'Unavailable',
  '504': 'GatewayTimeout',
}

/**
 * The `components` of the OpenAPI document: security schemes, the error body, the gateway's own bodies, the
 * shared error responses and the rate-limit headers. A fresh object on every call.
 */
export function openApiComponents(): Obj {
  return {
    securitySchemes: securitySchemes(),
    headers: headers(),
    schemas: schemas(),
    responses: responses(),
  }
}

/** The credentials the gateway takes ([HA-3]). */
function securitySchemes(): Obj {
  return {
    apiToken: {
      type: 'apiKey',
      in: 'header',
      name: 'mx-api-token',
      description: 'An API token (`bgt_…`): the root token file, or one made with `POST /api/v1/tokens`.',
    },
    bearer: {
      type: 'http',
      scheme: 'bearer',
      description: 'The same API token as `Authorization: Bearer <token>`.',
    },
    consoleSession: {
      type: 'apiKey',
      in: 'cookie',
      name: SESSION_COOKIE,
      description:
        "The web console's session cookie (`POST /api/v1/auth/login`); writes must also carry the CSRF header given at login.",
    },
    queryToken: {
      type: 'apiKey',
      in: 'query',
      name: 'mx-api-token',
      description:
        'The API token as a query parameter: only for the event stream and the WebSocket (browsers cannot set headers there).',
    },
  }
}

/** The rate-limit headers ([HA-12]). */
function headers(): Obj {
  return {
    'RateLimit-Limit': {
      description: "The token's burst: requests it may make at once (`http.rateLimitBurst`).",
      schema: { type: 'integer', minimum: 1 },
    },
    'RateLimit-Remaining': {
      description:
        'Requests the token may still make at once before it is refused; refills at `http.rateLimitPerSec`.',
      schema: { type: 'integer', minimum: 0 },
    },
    'Retry-After': {
      description: 'Whole seconds (at least 1) after which a request will be accepted again.',
      schema: { type: 'integer', minimum: 1 },
    },
  }
}

/** The error body and the gateway's own bodies. */
function schemas(): Obj {
  return { ...errorSchemas(), ...tokenSchemas(), ...bundleSchemas() }
}

/** Every error body, and the rate-limit state. */
function errorSchemas(): Obj {
  const codes = Object.keys(ERRORS)
  return {
    Error: {
      type: 'object',
      description:
        'Every error body ([HA-12]). Errors of the gateway carry one of its codes; errors answered by a bundle carry its data with `message` ensured and `code` defaulting to `GW_ERR_BUNDLE_ERROR`.',
      required: ['message', 'code'],
      properties: {
        message: { type: 'string', description: 'For a person.' },
        code: {
          type: 'string',
          description: `Stable code. The gateway's: ${codes.join(', ')}; a bundle may send its own.`,
          examples: ['GW_ERR_RATE_LIMITED'],
        },
        data: {
          description:
            'Details, when there are some (a bundle error that was not an object, validator errors…).',
        },
        log: { type: 'string', description: 'A hint for the operator.' },
      },
      additionalProperties: true,
    },
    Scope: { type: 'string', enum: ['read', 'readwrite', 'admin'] },
    RateLimit: {
      type: ['object', 'null'],
      description: "The token's effective request limit; null: not limited (admin tokens, or limits off).",
      required: ['perSecond', 'burst'],
      properties: { perSecond: { type: 'integer', minimum: 1 }, burst: { type: 'integer', minimum: 1 } },
    },
  }
}

/** The bodies of `/api/v1/tokens`. */
function tokenSchemas(): Obj {
  return {
    Token: {
      type: 'object',
      required: ['id', 'description', 'scope', 'createdAt', 'lastUsedAt', 'expiresAt', 'revokedAt'],
      properties: {
        id: { type: 'string' },
        description: { type: 'string' },
        scope: { $ref: '#/components/schemas/Scope' },
        createdAt: { type: 'string', format: 'date-time' },
        lastUsedAt: { type: ['string', 'null'], format: 'date-time' },
        expiresAt: { type: ['string', 'null'], format: 'date-time' },
        revokedAt: { type: ['string', 'null'], format: 'date-time' },
        rateLimit: { $ref: '#/components/schemas/RateLimit' },
      },
    },
    TokenRequest: {
      type: 'object',
      required: ['description', 'scope'],
      properties: {
        description: { type: 'string', minLength: 1, maxLength: 200 },
        scope: { type: 'string', enum: ['read', 'readwrite'] },
        expiresInSec: { type: 'integer', minimum: 1 },
      },
    },
    NewToken: {
      allOf: [
        { $ref: '#/components/schemas/Token' },
        {
          type: 'object',
          required: ['token'],
          properties: { token: { type: 'string', description: 'The secret, shown this once only.' } },
        },
      ],
    },
  }
}

/** A bundle as listed, and an event of the push channel. */
function bundleSchemas(): Obj {
  return {
    Bundle: {
      type: 'object',
      required: ['name', 'role', 'resources', 'ttl', 'online', 'registeredAt', 'hook'],
      properties: {
        name: { type: 'string' },
        role: { type: 'string' },
        description: { type: 'string' },
        resources: {
          type: 'array',
          items: {
            type: 'object',
            required: ['resource', 'methods'],
            properties: {
              resource: { type: 'string' },
              methods: { type: ['array', 'null'], items: { type: 'string' } },
            },
          },
        },
        ttl: { type: 'integer' },
        online: { type: 'boolean' },
        registeredAt: { type: 'string', format: 'date-time' },
        hook: { type: 'array', items: { type: 'string' } },
      },
      additionalProperties: true,
    },
    Event: {
      type: 'object',
      description: 'One event on the push channel.',
      required: ['resource', 'method', 'data', 'time'],
      properties: {
        resource: { type: 'string' },
        method: { type: 'string' },
        code: { type: 'integer' },
        data: {},
        time: { type: 'string', format: 'date-time' },
      },
    },
  }
}

/** The shared error responses. */
function responses(): Obj {
  return {
    BadRequest: errorResponse('The request is malformed (body not JSON, invalid data, resource too long).'),
    Unauthorized: errorResponse('No credential, or an unknown, revoked, expired one (`GW_ERR_AUTH_*`).', {
      headers: { 'WWW-Authenticate': { schema: { type: 'string' } } },
    }),
    Forbidden: errorResponse('The token lacks the scope (`GW_ERR_SCOPE`), or no model answers the resource.'),
    NotFound: errorResponse(
      'Nothing here (`GW_ERR_ROUTE_NOT_FOUND`, `GW_ERR_NOT_FOUND`, `GW_ERR_TOKEN_NOT_FOUND`).',
    ),
    MethodNotAllowed: errorResponse('The method is not served here (`GW_ERR_METHOD_NOT_ALLOWED`).'),
    PayloadTooLarge: errorResponse('The body is over 1 MiB (`GW_ERR_PAYLOAD_TOO_LARGE`).'),
    UnsupportedMediaType: errorResponse('The body is not JSON (`GW_ERR_UNSUPPORTED_MEDIA_TYPE`).'),
    Locked: errorResponse('A write holds the resource (`GW_ERR_RESOURCE_LOCKED`).'),
    RateLimited: errorResponse(
      'Too many requests for this token or client address (`GW_ERR_RATE_LIMITED`).',
      {
        headers: { 'Retry-After': { $ref: '#/components/headers/Retry-After' } },
      },
    ),
    InternalError: errorResponse(
      'An unexpected failure (`GW_ERR_INTERNAL`), or a bundle error without a code.',
    ),
    BadGateway: errorResponse('The bundle answered an invalid code (`GW_ERR_BUNDLE_BAD_RESPONSE`).'),
    Unavailable: errorResponse('The bundle is offline, or the gateway is starting or stopping.'),
    GatewayTimeout: errorResponse('The bundle did not answer within its ttl (`GW_ERR_BUNDLE_TIMEOUT`).'),
  }
}
