import { isIP } from 'node:net'

/**
 * Whether `host` (the embedded broker's listen address) is a loopback address only this device reaches:
 * `localhost`, `127.0.0.0/8`, `::1`, or an IPv4-mapped `::ffff:127.x.y.z`. `0.0.0.0`, `::` and every other address
 * are reachable from elsewhere.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1')
  if (h === 'localhost') return true
  if (isIP(h) === 4) return h.startsWith('127.')
  if (isIP(h) === 6) {
    if (h === '::1' || /^(0{1,4}:){7}0{0,3}1$/.test(h)) return true
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h)
    return mapped !== null && (mapped[1] as string).startsWith('127.')
  }
  return false
}

/**
 * `broker.auth` resolved: `on` and `off` say it; `auto` (the default) requires MQTT authentication exactly when
 * the embedded broker listens on a non-loopback address (docs/security.md).
 */
export function brokerAuthRequired(broker: { host: string; auth: 'auto' | 'on' | 'off' }): boolean {
  if (broker.auth === 'on') return true
  if (broker.auth === 'off') return false
  return !isLoopbackHost(broker.host)
}
