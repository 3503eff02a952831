/**
 * The MQTT broker: the embedded aedes broker; an external broker is simply a URL the others connect to.
 * @module
 */
export { type EmbeddedBroker, type EmbeddedBrokerOptions, startBroker } from './embedded-broker.ts'
