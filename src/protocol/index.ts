/**
 * The wire protocol: envelope types, parsing, classification, topics, pattern and route matching, query parsing.
 * Depends on nothing else in Bundlegate.
 * @module
 */

export { assignOwn, setOwn } from './assign-own.ts'
export {
  type ControllerMessageKind,
  classifyController,
  classifySdk,
  directTunnel,
  messageId,
  type SdkMessageType,
} from './classify.ts'
export {
  type Caller,
  CONTROLLER_SIGN,
  type Envelope,
  isObject,
  type Json,
  type JsonObject,
  MAX_PAYLOAD_BYTES,
  MAX_RESOURCE_CHARS,
} from './envelope.ts'
export { ID_MAX, ID_MIN, IdGenerator } from './ids.ts'
export {
  jsonDepth,
  MAX_JSON_DEPTH,
  MAX_JSON_DEPTH_LIMIT,
  messageDepth,
  tooDeepAnswer,
} from './json-budget.ts'
export { messageHead } from './message-head.ts'
export { bundleResponse, type ControllerMessageInit, controllerMessage, isWrite } from './messages.ts'
export { PARSE_CEILING_BYTES, type ParseOptions, type ParseResult, parsePayload } from './parse.ts'
export { matchingPatterns, patternMatches, resourceName } from './pattern.ts'
export { parseQuery, type Query, querySearch } from './query.ts'
export { isValidRequestId, MAX_REQUEST_ID_CHARS, requestIdOf } from './request-id.ts'
export { compileRoute, type RoutePattern, routeToPattern, trimRoute } from './route-pattern.ts'
export {
  CLIENT_PRESENCE_FILTER,
  CONTROLLER_TOPIC,
  clientPresenceTopic,
  DEPENDENCY_RESOURCE,
  isValidTunnel,
  localControllerTopic,
  PRESENCE_TOPIC,
  presenceClientId,
  REGISTRATION_RESOURCE,
} from './topics.ts'
export { conflictText, offlineText, WIRE_TEXT } from './wire-replies.ts'
