import { isGatewayId } from './gateway-id.ts'

/** What a peer may do here: `read` = GET only, `readwrite` = every method. */
export type TrustScope = 'read' | 'readwrite'

/** The per-peer trust of `fleet.trust` (`cg-hub=readwrite,cg-2=read`); the schema has checked the shape. */
export function parseTrust(text: string): ReadonlyMap<string, TrustScope> {
  const trust = new Map<string, TrustScope>()
  for (const entry of text.split(',')) {
    if (entry === '') continue
    const [id, scope] = entry.split('=')
    if (isGatewayId(id) && (scope === 'read' || scope === 'readwrite')) trust.set(id, scope)
  }
  return trust
}

/** Why a caller is refused, or undefined when it may: decided on the target, before anything reaches the controller. */
export function trustRefusal(
  trust: ReadonlyMap<string, TrustScope>,
  caller: string,
  method: string,
): 'untrusted' | 'read-only' | undefined {
  const scope = trust.get(caller)
  if (scope === undefined) return 'untrusted'
  if (scope === 'read' && method.toLowerCase() !== 'get') return 'read-only'
  return undefined
}
