import type { GatewayOperation } from './gateway-operations.ts'

type Obj = Record<string, unknown>

const err = (description: string): Obj => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
})
const FILE_VIEW: Obj = {
  type: 'object',
  required: ['id', 'name', 'size', 'type', 'sha256', 'createdAt', 'expiresAt', 'url'],
  properties: {
    id: { type: 'string', pattern: '^[0-9a-f]{32}$' },
    name: { type: 'string' },
    size: { type: 'integer' },
    type: { type: 'string' },
    sha256: { type: 'string' },
    createdAt: { type: 'string', format: 'date-time' },
    expiresAt: { type: ['string', 'null'], format: 'date-time' },
    url: { type: 'string', description: 'The download path, relative to the gateway.' },
  },
}
const json = (schema: Obj, description: string): Obj => ({
  description,
  content: { 'application/json': { schema } },
})
const UPLOAD_BODY: Obj = {
  required: true,
  content: {
    'multipart/form-data': {
      schema: { type: 'object', properties: { file: { type: 'string', format: 'binary' } } },
    },
    'application/octet-stream': { schema: { type: 'string', format: 'binary' } },
  },
}
/** What every upload may answer besides success (docs/files.md). */
const UPLOAD_ERRORS: Record<string, Obj> = {
  '408': err('The client stalled (`GW_ERR_FILE_TIMEOUT`); the partial file is removed.'),
  '507': err('The quota or the disk is full (`GW_ERR_FILE_QUOTA`, `GW_ERR_FILE_DISK_FULL`).'),
}
const RESOURCE_PARAM: Obj = {
  name: 'resource',
  in: 'query',
  required: true,
  description: 'The bundle resource the helper calls.',
  schema: { type: 'string' },
}
const NAME_PARAMS: Obj[] = [
  {
    name: 'name',
    in: 'query',
    required: false,
    description: 'File name of a raw upload.',
    schema: { type: 'string' },
  },
  {
    name: 'type',
    in: 'query',
    required: false,
    description: 'Media type of a raw upload.',
    schema: { type: 'string' },
  },
]

const helperUpload: GatewayOperation = {
  summary: 'Upload helper (wire-protocol.md §7)',
  description:
    "Stores the file(s), then sends `<method> <resource>` with `data.file` (`url`, `physicalPath`, `headers`, …) or `data.files`, merged into the JSON of the form field `jsonData`. Answers the bundle's data; on an error `{message}` with its code, and the files are removed.",
  parameters: [RESOURCE_PARAM],
  requestBody: UPLOAD_BODY,
  responses: { '200': json({}, "The bundle's answer."), ...UPLOAD_ERRORS },
  errors: ['400', '403', '404', '413', '415', '502', '503', '504'],
}
const helperDownload: GatewayOperation = {
  summary: 'Download helper (wire-protocol.md §7)',
  description:
    'Sends `POST <resource>` with `{url, headers}` (a one-time upload ticket); the bundle uploads its file there and answers `{url}`.',
  parameters: [RESOURCE_PARAM],
  responses: {
    '200': json(
      { type: 'object', required: ['downloadLink'], properties: { downloadLink: { type: 'string' } } },
      'Where to download the file (with a token).',
    ),
  },
  errors: ['400', '403', '404', '502', '503', '504'],
}

/** The file service and the §7 helpers ([files.md](../../../docs/files.md)), keyed like GATEWAY_OPERATIONS. */
export const FILE_OPERATIONS: Readonly<Record<string, GatewayOperation>> = {
  'GET /api/v1/files': {
    summary: 'List the stored files',
    responses: { '200': json({ type: 'array', items: FILE_VIEW }, 'Every stored file, oldest first.') },
  },
  'POST /api/v1/files': {
    summary: 'Upload a file (multipart or a raw body)',
    parameters: NAME_PARAMS,
    requestBody: UPLOAD_BODY,
    responses: {
      '201': json(FILE_VIEW, 'The stored file (several parts: `{files: [...]}`).'),
      ...UPLOAD_ERRORS,
    },
    errors: ['400', '403', '413', '415'],
  },
  'POST /api/v1/files/upload': {
    summary: 'Upload with a one-time ticket of the download helper',
    parameters: NAME_PARAMS,
    requestBody: UPLOAD_BODY,
    responses: { '201': json(FILE_VIEW, 'The stored file.'), ...UPLOAD_ERRORS },
    errors: ['400', '401', '413', '415'],
  },
  'GET /api/v1/files/:id': {
    summary: 'Download a file (ETag, Range)',
    responses: {
      '200': {
        description: 'The content.',
        content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
      },
      '206': { description: 'The requested range.' },
      '304': { description: 'Not modified (If-None-Match).' },
      '416': err('The range lies outside the file (`GW_ERR_FILE_RANGE`).'),
    },
    errors: ['404'],
  },
  'GET /api/v1/files/:id/info': {
    summary: "A file's metadata",
    responses: { '200': json(FILE_VIEW, 'The stored file.') },
    errors: ['404'],
  },
  'PUT /api/v1/files/:id': {
    summary: 'Keep a file (no expiry) or let it expire',
    requestBody: {
      required: true,
      content: {
        'application/json': {
          schema: { type: 'object', required: ['keep'], properties: { keep: { type: 'boolean' } } },
        },
      },
    },
    responses: { '200': json(FILE_VIEW, 'The stored file.') },
    errors: ['400', '403', '404'],
  },
  'DELETE /api/v1/files/:id': {
    summary: 'Delete a file',
    responses: { '204': { description: 'Deleted.' } },
    errors: ['403', '404'],
  },
  'POST /api/v1/helper/upload': helperUpload,
  'PUT /api/v1/helper/upload': helperUpload,
  'GET /api/v1/helper/download': helperDownload,
  'POST /api/v1/cg-:gw/helper/upload': helperUpload,
  'PUT /api/v1/cg-:gw/helper/upload': helperUpload,
  'GET /api/v1/cg-:gw/helper/download': helperDownload,
}
