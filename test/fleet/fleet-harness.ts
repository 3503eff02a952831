/**
 * The fleet of test/fleet/fleet-e2e.test.ts and benchmarks/fleet-latency.ts: a real mosquitto as the central broker
 * (password file + the ACL of docs/fleet.md), gateways as real `bundlegate start` processes on loopback, each with
 * its embedded broker and the example bundle as its own process.
 * @module
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Config } from '../../src/config/index.ts'
import { type GatewayProcess, startGatewayProcess } from '../helpers/gateway-child.ts'
import {
  copyExampleDir,
  type ExampleProcess,
  type Mosquitto,
  REPO_ROOT,
  spawnExample,
  startMosquitto,
} from '../helpers/processes.ts'

/** The ACL lines of docs/fleet.md (the block after the `fleet-acl` marker): the test runs what the doc says. */
export async function documentedAcl(): Promise<string> {
  const doc = await readFile(join(REPO_ROOT, 'docs/fleet.md'), 'utf8')
  const at = doc.indexOf('<!-- fleet-acl')
  const block = /```text\n([\s\S]*?)```/.exec(doc.slice(at))
  if (at === -1 || !block?.[1]) throw new Error('docs/fleet.md has no fleet-acl block')
  return block[1]
}

/** The fleet's users on the central broker: user name = fleet.localId. */
export const PASSWORDS = {
  'cg-a': 'pass-a-1',
  'cg-b': 'pass-b-2',
  'cg-hub': 'pass-hub-3',
} as const satisfies Record<string, string>

type MemberId = keyof typeof PASSWORDS

/** The `fleet.*` settings of member `id` on `central`: its user and password of {@link PASSWORDS}, and `more`. */
export function memberFleet(
  central: Mosquitto,
  id: MemberId,
  more: Partial<Config['fleet']> = {},
): Partial<Config['fleet']> {
  return { url: central.url, localId: id, username: id, password: PASSWORDS[id], ...more }
}

/** The central broker; `set_tcp_nodelay true` as docs/fleet.md recommends, unless `nodelay` is false. */
export async function startCentral(nodelay = true): Promise<Mosquitto | undefined> {
  return startMosquitto({
    users: PASSWORDS,
    acl: await documentedAcl(),
    conf: nodelay ? ['set_tcp_nodelay true'] : [],
  })
}

/** One gateway of the fleet, restartable on the same data directory. */
export interface FleetMember {
  readonly id: string
  gw: GatewayProcess
  example: ExampleProcess | undefined
  start(): Promise<void>
  /** kill -9 of the gateway (its example bundle keeps running, reconnecting to a dead broker). */
  kill9(): Promise<void>
  call(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: Record<string, unknown> }>
}

/** Starts gateway `id` (with the example bundle unless `hub`), trusting `trust`. */
export async function startMember(
  central: Mosquitto,
  id: MemberId,
  opts: { trust: string; hub?: boolean },
  defer: (fn: () => unknown) => void,
): Promise<FleetMember> {
  const dataDir = await mkdtemp(join(tmpdir(), `bg-fleet-${id}-`))
  defer(() => rm(dataDir, { recursive: true, force: true }))
  const exampleDir = opts.hub ? undefined : await copyExampleDir()
  if (exampleDir) defer(() => rm(exampleDir, { recursive: true, force: true }))
  const config = {
    fleet: memberFleet(central, id, { trust: opts.trust, linkBudgetMs: 2000 }),
  }
  const m: FleetMember = {
    id,
    gw: undefined as unknown as GatewayProcess,
    example: undefined,
    async start() {
      m.gw = await startGatewayProcess(dataDir, false, defer, config, opts.hub ? ['--hub'] : [])
      if (exampleDir) {
        await m.example?.stop()
        const ex = spawnExample({ brokerUrl: m.gw.brokerUrl, dir: exampleDir })
        defer(() => ex.stop())
        m.example = ex
        await ex.ready
      }
    },
    async kill9() {
      const child = m.gw.child
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r))
        child.kill('SIGKILL')
        await exited
      }
    },
    async call(method, path, body) {
      const res = await fetch(`${m.gw.httpUrl}/api/v1${path}`, {
        method,
        headers: {
          'mx-api-token': m.gw.rootToken,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      })
      const text = await res.text()
      return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} }
    },
  }
  await m.start()
  return m
}

/** Polls `fn` until it returns true; rejects after `ms`. */
export async function eventually(fn: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms
  for (;;) {
    if (await fn().catch(() => false)) return
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}
