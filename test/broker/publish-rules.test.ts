/**
 * The publish ACL of broker authentication (src/broker/publish-rule.ts, docs/security.md) as a table: no gateway,
 * no SQLite, no TCP. Topic text from the protocol's topics module (wire-protocol.md §2.1).
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { publishDecision } from '../../src/broker/publish-rule.ts'
import {
  CONTROLLER_TOPIC,
  clientPresenceTopic,
  localControllerTopic,
  PRESENCE_TOPIC,
  REGISTRATION_RESOURCE,
} from '../../src/protocol/index.ts'

const table: Array<[string, string | undefined, string, string | undefined, boolean]> = [
  // [case, client id, topic, local id, allowed]
  ['requests, answers and events go to /controller', 'bg-1', CONTROLLER_TOPIC, undefined, true],
  ['the local controller topic with a local id [WP-1]', 'bg-1', localControllerTopic('gw7'), 'gw7', true],
  ['the local topic of another id', 'bg-1', localControllerTopic('gw8'), 'gw7', false],
  ['a local-looking topic without a local id', 'bg-1', localControllerTopic('gw7'), undefined, false],
  ['an empty local id gives no local topic', 'bg-1', '//controller', '', false],
  ["the client's own presence (its will)", 'bg-1', clientPresenceTopic('bg-1'), undefined, true],
  ["another client's presence", 'bg-1', clientPresenceTopic('bg-2'), undefined, false],
  ["the controller's presence", 'bg-1', PRESENCE_TOPIC, undefined, false],
  ['a registration resource as a topic', 'bg-1', REGISTRATION_RESOURCE, undefined, false],
  ['a component tunnel', 'bg-1', '1719095097', undefined, false],
  ['a reply tunnel', 'bg-1', '0123456789abcdef0123456789abcdef', undefined, false],
  ['a wildcard', 'bg-1', '#', undefined, false],
  ['a system topic', 'bg-1', '$SYS/broker', undefined, false],
  ['without a client, even /controller', undefined, CONTROLLER_TOPIC, undefined, false],
]

for (const [name, clientId, topic, localId, allow] of table) {
  test(`publish rule: ${name} → ${allow ? 'allowed' : 'denied'}`, () => {
    const decision = publishDecision({ clientId, topic, localId })
    assert.deepEqual(
      decision,
      allow ? { allow: true } : { allow: false, reason: `publishing to '${topic}' is not allowed` },
    )
  })
}
