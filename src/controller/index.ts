/**
 * The controller: registration, routing, hooks, merge, ttl, locks, events, liveness (wire-protocol.md §4–§8).
 * @module
 */
export type { Chain } from './chain.ts'
export { buildChain } from './chain.ts'
export { type Clock, systemClock } from './clock.ts'
export type {
  BuiltinAnswer,
  BuiltinHandler,
  ComponentChange,
  ComponentInfo,
  ComponentStats,
} from './component.ts'
export { type Controller, type ControllerBroker, startController } from './controller.ts'
export { ControllerCore } from './controller-core.ts'
export type { ControllerCoreOptions, ControllerStats, LocalRequest, MessageMeta } from './core-options.ts'
export { findHookCycle } from './hook-cycle.ts'
export { finalAnswer, hookMessage } from './merge.ts'
export { type ExternalBrokerOptions, setNoDelay } from './mqtt-transport.ts'
export type { ControllerObserver } from './observer.ts'
export type { ControllerOutput } from './outbox.ts'
export type { Answer, Failure, Outcome, OutcomeKind } from './outcome.ts'
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
