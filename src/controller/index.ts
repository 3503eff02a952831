/**
 * The controller: registration, routing, hooks, merge, ttl, locks, events, liveness (wire-protocol.md §4–§8).
 * @module
 */
export type { Chain } from './chain.ts'
export { buildChain } from './chain.ts'
export { type Clock, systemClock } from './clock.ts'
export type { BuiltinAnswer, BuiltinHandler, ComponentInfo, ComponentStats } from './component.ts'
export { type Controller, type ControllerBroker, startController } from './controller.ts'
export {
  ControllerCore,
  type ControllerCoreOptions,
  type ControllerOutput,
  type ControllerStats,
  type LocalRequest,
  type MessageMeta,
  type Outcome,
  type OutcomeKind,
} from './controller-core.ts'
export { findHookCycle } from './hook-cycle.ts'
export { finalAnswer, hookMessage } from './merge.ts'
export { type ExternalBrokerOptions, setNoDelay } from './mqtt-transport.ts'
export type { ControllerObserver } from './observer.ts'
export {
  firstLevel,
  MAX_PATTERN_CHARS,
  type PatternRefusal,
  type PatternRule,
  patternRefusal,
  RESERVED_FIRST_LEVELS,
} from './pattern-rules.ts'
export type { RegistrationGuard, ReservedPattern } from './registration.ts'
export { type RegistrationLimits, UNLIMITED } from './registration-limits.ts'
