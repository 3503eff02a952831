/**
 * The MQTT broker: the embedded aedes broker (with authentication and an ACL when it is exposed); an external broker
 * is simply a URL the others connect to.
 * @module
 */
export { brokerAuthRequired, isLoopbackHost } from './auth-required.ts'
export {
  type BrokerAuth,
  type BrokerAuthOptions,
  type BrokerAuthStats,
  type BrokerCredentialChecker,
  type ControllerView,
  ownsName,
} from './broker-auth.ts'
export { type EmbeddedBroker, type EmbeddedBrokerOptions, startBroker } from './embedded-broker.ts'
export { isControlTopic, type RetainGuard } from './retain-guard.ts'
