import type { ManagedInfo } from '../../manager/index.ts'
import type { ManagedBundleView } from '../../web/index.ts'
import { type CliIo, line } from '../io.ts'
import { printTable } from '../table.ts'

/** `3d 4h`, `2h 5m`, `4m 10s`, `12s`. */
export function formatUptime(sec: number): string {
  const s = Math.floor(sec)
  const d = Math.floor(s / 86_400)
  const h = Math.floor((s % 86_400) / 3600)
  const m = Math.floor((s % 3600) / 60)
  if (d > 0) return `${d}d ${h}h`
  if (h > 0) return `${h}h ${m}m`
  if (m > 0) return `${m}m ${s % 60}s`
  return `${s}s`
}

/** `45.2 MiB`, `812 KiB`; `-` when unknown. */
export function formatBytes(bytes: number | null): string {
  if (bytes === null) return '-'
  if (bytes >= 1_048_576) return `${(bytes / 1_048_576).toFixed(1)} MiB`
  return `${Math.round(bytes / 1024)} KiB`
}

/** `example 1.0.0: running` and the manager's explanation when it has one. */
export function describeManaged(m: ManagedInfo): string {
  return `${m.name} ${m.version}: ${m.state}${m.message ? ` (${m.message})` : ''}`
}

/**
 * The list: one row per bundle, STATE the manager's state for a managed one (else online / offline), and the
 * manager's columns (version, restarts, uptime, memory) when any bundle is managed.
 */
export function printBundles(io: CliIo, bundles: ManagedBundleView[]): void {
  if (bundles.length === 0) {
    line(io.out, 'No bundles registered or installed.')
    return
  }
  const anyManaged = bundles.some((b) => b.managed)
  const head = ['NAME', 'ROLE', 'STATE', 'TTL', 'RESOURCES', 'REGISTERED']
  const rows: string[][] = [anyManaged ? [...head, 'VERSION', 'RESTARTS', 'UPTIME', 'MEMORY'] : head]
  for (const b of bundles) {
    const resources = b.resources.map((r) => `${r.resource} ${r.methods ? r.methods.join(',') : '-'}`)
    const m = b.managed
    const row = [
      b.name,
      b.role || '-',
      m ? m.state : b.online ? 'online' : 'offline',
      b.registeredAt ? `${b.ttl}s` : '-',
      resources[0] ?? '-',
      b.registeredAt ? b.registeredAt.slice(0, 19).replace('T', ' ') : '-',
    ]
    if (anyManaged)
      row.push(
        m?.version ?? '-',
        m ? String(m.restarts) : '-',
        m && m.state === 'running' ? formatUptime(m.uptimeSec) : '-',
        m ? formatBytes(m.rssBytes) : '-',
      )
    rows.push(row)
    // one line per further resource, under the first
    for (const r of resources.slice(1)) rows.push(['', '', '', '', r, ''])
  }
  printTable(io, rows)
}

/** `bundlegate bundles status <name>`: the bundle's facts, one per line. */
export function printStatus(io: CliIo, b: ManagedBundleView): void {
  const m = b.managed
  const rows: Array<[string, string]> = [
    ['name', b.name],
    ['registered', b.registeredAt ? `${b.registeredAt} (${b.online ? 'online' : 'offline'})` : 'no'],
  ]
  if (m) {
    const exit = m.lastExit
    rows.push(
      ['state', m.state],
      ['version', m.previousVersion ? `${m.version} (previous ${m.previousVersion})` : m.version],
      ['enabled', m.enabled ? 'yes' : 'no'],
      ['pid', m.pid === null ? '-' : String(m.pid)],
      ['uptime', m.state === 'running' ? formatUptime(m.uptimeSec) : '-'],
      ['restarts', String(m.restarts)],
      ['last exit', exit ? `${exit.signal ?? `code ${exit.code}`} at ${exit.at} (${exit.reason})` : '-'],
      [
        'memory',
        `${formatBytes(m.rssBytes)}${m.memoryLimitBytes ? ` of ${formatBytes(m.memoryLimitBytes)}` : ''}`,
      ],
      ['next start', m.nextRetryAt ?? '-'],
      ['dropped log lines', String(m.droppedLogLines)],
    )
    if (m.message) rows.push(['message', m.message])
  } else rows.push(['managed', 'no (started outside the bundle manager)'])
  const width = Math.max(...rows.map(([k]) => k.length))
  for (const [k, v] of rows) line(io.out, `${`${k}:`.padEnd(width + 2)}${v}`)
}
