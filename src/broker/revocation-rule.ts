/**
 * The revocation rule of the broker's authentication (docs/security.md): which connected clients lost their
 * credential. Pure but for the `isActive` look-up it is given; the aedes adapter (broker-auth.ts) closes them.
 * @module
 */

/** What {@link revokedClients} found. */
export interface RevocationSweep<C> {
  /** Clients whose credential is no longer active, in the order met. */
  revoked: C[]
  /** Set when a look-up threw: the sweep stopped there (the clients found before are in `revoked`). */
  failed?: { error: unknown }
}

/**
 * The clients among `connected` whose credential `isActive` no longer accepts. A look-up that throws stops the
 * sweep (the store is unreadable: nobody is cut for that); the next sweep tries again.
 */
export function revokedClients<C>(
  connected: Iterable<{ client: C; credentialId: string }>,
  isActive: (credentialId: string) => boolean,
): RevocationSweep<C> {
  const revoked: C[] = []
  for (const { client, credentialId } of connected) {
    let active: boolean
    try {
      active = isActive(credentialId)
    } catch (error) {
      return { revoked, failed: { error } }
    }
    if (!active) revoked.push(client)
  }
  return { revoked }
}
