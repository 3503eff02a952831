import { isIPv6 } from 'node:net'

/**
 * The key a client address is limited under: an IPv4 address as it is (also when IPv4-mapped, `::ffff:a.b.c.d`),
 * an IPv6 address by its /64 prefix, since one host usually holds a whole /64 and could otherwise take a fresh
 * bucket for every request. Undefined for loopback (`127.0.0.0/8`, `::1`): the device's own processes share that
 * address, and one of them failing must not lock the others (and the CLI) out; like fail2ban's default `ignoreip`.
 */
export function addressKey(ip: string): string | undefined {
  if (!isIPv6(ip)) return ip.startsWith('127.') ? undefined : ip
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)
  if (mapped) return addressKey(mapped[1] as string)
  if (ip === '::1' || /^(0{1,4}:){7}0{0,3}1$/.test(ip)) return undefined
  const zone = ip.indexOf('%')
  const bare = zone === -1 ? ip : ip.slice(0, zone)
  const [head = '', tail] = bare.split('::') as [string, string | undefined]
  const h = head === '' ? [] : head.split(':')
  const t = tail === undefined || tail === '' ? [] : tail.split(':')
  // an embedded IPv4 tail (`::1.2.3.4`) counts as two groups; it only ever sits in the lower 64 bits
  const groups =
    tail === undefined ? h : [...h, ...Array(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t]
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(':')}::/64`
}
