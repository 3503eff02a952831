/**
 * The subscribe ACL of broker authentication (src/broker/subscribe-rule.ts, docs/security.md) as a table: no
 * gateway, no SQLite, no TCP.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  type SubscribeDecision,
  type SubscribeInput,
  subscribeDecision,
} from '../../src/broker/subscribe-rule.ts'
import {
  CLIENT_PRESENCE_FILTER,
  CONTROLLER_TOPIC,
  clientPresenceTopic,
  localControllerTopic,
  PRESENCE_TOPIC,
  REGISTRATION_RESOURCE,
} from '../../src/protocol/index.ts'

const REPLY = '0123456789abcdef0123456789abcdef'

function input(over: Partial<SubscribeInput>): SubscribeInput {
  return { topic: REPLY, user: 'alice', localId: 'gw7', tunnel: undefined, replyHolder: undefined, ...over }
}

const ok: SubscribeDecision = { allow: true, holdReplyTunnel: false }
const hold: SubscribeDecision = { allow: true, holdReplyTunnel: true }
const no = (reason: string): SubscribeDecision => ({ allow: false, reason })

const table: Array<[string, Partial<SubscribeInput>, SubscribeDecision]> = [
  ['not authenticated', { user: undefined }, no('not authenticated')],
  ['not authenticated, even presence', { user: undefined, topic: PRESENCE_TOPIC }, no('not authenticated')],
  ['multi-level wildcard', { topic: '#' }, no('wildcards are not allowed')],
  ['single-level wildcard', { topic: CLIENT_PRESENCE_FILTER }, no('wildcards are not allowed')],
  ['a wildcard inside a reply-tunnel name', { topic: `${REPLY}/+` }, no('wildcards are not allowed')],
  ['system topics', { topic: '$SYS/broker/clients' }, no('system topics are not allowed')],
  ["the controller's presence (§8.4)", { topic: PRESENCE_TOPIC }, ok],
  ['/controller', { topic: CONTROLLER_TOPIC }, no("the controller's topics are not readable")],
  [
    "another client's presence",
    { topic: clientPresenceTopic('bg-2') },
    no("the controller's topics are not readable"),
  ],
  [
    'a resource below /controller',
    { topic: REGISTRATION_RESOURCE },
    no("the controller's topics are not readable"),
  ],
  [
    'the local controller topic',
    { topic: localControllerTopic('gw7') },
    no("the controller's topics are not readable"),
  ],
  ['the local topic of another id is a reply tunnel', { topic: localControllerTopic('gw8') }, hold],
  [
    'own component tunnel (registered by alice)',
    { topic: '17', tunnel: { component: 'alice', registeredBy: 'alice' } },
    ok,
  ],
  [
    'own profile tunnel (alice-view, registered by alice)',
    { topic: '18', tunnel: { component: 'alice-view', registeredBy: 'alice' } },
    ok,
  ],
  [
    "another user's component tunnel",
    { topic: '19', tunnel: { component: 'bob', registeredBy: 'bob' } },
    no("tunnel of component 'bob'"),
  ],
  [
    'a component named alice registered by bob',
    { topic: '20', tunnel: { component: 'alice', registeredBy: 'bob' } },
    no("tunnel of component 'alice'"),
  ],
  [
    'a component of the same name, registered by nobody known (in-process)',
    { topic: '21', tunnel: { component: 'alice', registeredBy: undefined } },
    ok,
  ],
  [
    'a component of another name, registered by nobody known',
    { topic: '22', tunnel: { component: 'bob', registeredBy: undefined } },
    no("tunnel of component 'bob'"),
  ],
  [
    'a tunnel-shaped topic handed out to nobody',
    { topic: '1719095097' },
    no('not a tunnel handed out to this client'),
  ],
  ['a free reply tunnel', {}, hold],
  ['own reply tunnel again', { replyHolder: 'alice' }, hold],
  ["another user's reply tunnel", { replyHolder: 'bob' }, no("reply tunnel of another user ('bob')")],
  ['an 11-digit number is no component tunnel', { topic: '12345678901' }, hold],
]

for (const [name, over, expected] of table) {
  test(`subscribe rule: ${name}`, () => {
    assert.deepEqual(subscribeDecision(input(over)), expected)
  })
}

test('subscribe rule: without a local id, a topic of that shape is a reply tunnel', () => {
  assert.deepEqual(subscribeDecision(input({ localId: undefined, topic: localControllerTopic('gw7') })), hold)
})
