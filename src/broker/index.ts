/**
 * The MQTT broker: the embedded aedes broker (with authentication and an ACL when it is exposed, and the MQTT credentials
 * of bundles it checks); an external broker
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
  MAX_PERSISTENT_SESSIONS,
  MAX_PERSISTENT_SESSIONS_PER_USER,
  ownsName,
} from './broker-auth.ts'
export {
  BROKER_CREDENTIALS_FILE,
  BROKER_PASSWORD_PREFIX,
  type BrokerCredentialCheck,
  type BrokerCredentialInfo,
  BrokerCredentialStore,
  type BrokerCredentialStoreOptions,
  BUNDLE_NAME_RULE,
  type CreatedBrokerCredential,
} from './broker-credential-store.ts'
export {
  type EmbeddedBroker,
  type EmbeddedBrokerOptions,
  type EmbeddedBrokerStats,
  startBroker,
} from './embedded-broker.ts'
export { isControlTopic, type RetainGuard } from './retain-guard.ts'
