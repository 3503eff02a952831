/**
 * Who may register, deregister and act for a component under broker authentication (src/broker/registration-rule.ts,
 * docs/security.md, profiles of wire-protocol.md §4.5) as tables. No gateway, no SQLite, no TCP.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  mayActFor,
  ownsName,
  type RegistrationInput,
  registrationRefusal,
} from '../../src/broker/registration-rule.ts'

test('registration rule: ownsName, as a table', () => {
  const bundles = new Set(['thermo-view']) // a bundle with credentials of its own
  const taken = (n: string) => bundles.has(n)
  const table: Array<[string, string, boolean]> = [
    ['alice', 'alice', true],
    ['alice', 'alice-view', true],
    ['alice', 'alice-model', true],
    ['alice', 'alice-other', false],
    ['alice', 'bob', false],
    ['alice', 'alicex', false],
    ['thermo', 'thermo', true],
    ['thermo', 'thermo-view', false], // a bundle of that name has credentials: not thermo's profile
    ['thermo', 'thermo-model', true],
    ['thermo-view', 'thermo-view', true],
  ]
  for (const [user, name, expected] of table)
    assert.equal(ownsName(user, name, taken), expected, `${user} owns ${name}`)
  assert.equal(ownsName('a', 'a-view'), true, 'nothing is taken by default')
})

test('registration rule: mayActFor, as a table', () => {
  const table: Array<[string, string, string | undefined, boolean]> = [
    ['alice', 'alice', undefined, true],
    ['alice', 'alice-view', undefined, false], // a profile registered by nobody known is not alice's to act for
    ['alice', 'alice-view', 'alice', true],
    ['alice', 'alice', 'bob', false],
    ['bob', 'alice', 'bob', true],
  ]
  for (const [user, name, by, expected] of table)
    assert.equal(mayActFor(user, name, by), expected, `${user} for ${name} registered by ${by}`)
})

test('registration rule: registrationRefusal, as a table', () => {
  const base: RegistrationInput = {
    name: 'alice',
    user: 'alice',
    verb: 'register',
    taken: () => false,
    registeredBy: undefined,
  }
  const table: Array<[string, Partial<RegistrationInput>, string | undefined]> = [
    ['own name', {}, undefined],
    ['own profile', { name: 'alice-model' }, undefined],
    ['own name, registered by alice before', { registeredBy: 'alice' }, undefined],
    [
      "another user's name",
      { name: 'bob' },
      "may not register 'bob': the connection is authenticated as 'alice'",
    ],
    [
      'own name, but registered by bob (before alice had a credential)',
      { registeredBy: 'bob', verb: 'deregister' },
      "may not deregister 'alice': the connection is authenticated as 'alice'",
    ],
    [
      'a profile name that is a bundle of its own',
      { name: 'alice-view', taken: (n) => n === 'alice-view' },
      "may not register 'alice-view': the connection is authenticated as 'alice'",
    ],
    [
      'not authenticated',
      { user: undefined },
      "may not register 'alice': the connection is not authenticated",
    ],
  ]
  for (const [name, over, expected] of table)
    assert.equal(registrationRefusal({ ...base, ...over }), expected, name)
})
