/**
 * Who may register, deregister and act for a component under the broker's authentication (docs/security.md), as
 * pure decisions. The aedes adapter is broker-auth.ts.
 * @module
 */

/**
 * Whether the user `user` may register component name `name`: its own name, and its `-view`/`-model` profile names
 * (§4.5) unless `taken(name)` says that name is a bundle with credentials of its own.
 */
export function ownsName(
  user: string,
  name: string,
  taken: (name: string) => boolean = () => false,
): boolean {
  if (name === user) return true
  return (name === `${user}-view` || name === `${user}-model`) && !taken(name)
}

/**
 * Whether `user` may act for the component `name` (read its tunnel, answer for it): the user that registered it
 * (`registeredBy`), or, when no known user did, the user of the same name.
 */
export function mayActFor(user: string, name: string, registeredBy: string | undefined): boolean {
  return registeredBy !== undefined ? registeredBy === user : name === user
}

/** Everything {@link registrationRefusal} decides on. */
export interface RegistrationInput {
  /** The component name. */
  name: string
  /** The user the calling connection authenticated as; `undefined` when it did not. */
  user: string | undefined
  verb: 'register' | 'deregister'
  /** Whether a profile name is a bundle with active credentials of its own. */
  taken: (name: string) => boolean
  /** The user whose client registered `name` and still holds it, if any. */
  registeredBy: string | undefined
}

/**
 * Why the registration call may not go on, or `undefined` when it may: a user registers and deregisters the names
 * it owns ({@link ownsName}); a name registered by another user (before its credential existed) stays theirs until
 * they deregister it.
 */
export function registrationRefusal(input: RegistrationInput): string | undefined {
  const { name, user, verb, registeredBy } = input
  if (user !== undefined && ownsName(user, name, input.taken)) {
    if (registeredBy === undefined || registeredBy === user) return undefined
  }
  return user === undefined
    ? `may not ${verb} '${name}': the connection is not authenticated`
    : `may not ${verb} '${name}': the connection is authenticated as '${user}'`
}
