/**
 * One installed bundle as the manager runs it: its record and manifest, its {@link Supervisor}, its log, and the
 * launch of its process (docs/manager.md "Environment of a bundle"): a fresh API token and broker credential at
 * every start (the previous ones revoked), cwd = its code directory, stdout and stderr into its log.
 * @module
 */

import type { ChildProcess } from 'node:child_process'
import type { BrokerCredentialStore } from '../broker/index.ts'
import type { Clock, ComponentInfo } from '../controller/index.ts'
import { createError } from '../errors.ts'
import type { Logger } from '../logger.ts'
import { spawnChild, stopChild } from '../process/index.ts'
import type { Manifest } from '../sdk/manifest.ts'
import type { TokenStore } from '../tokens/index.ts'
import { manifestPatterns, readInstallManifest } from './install-checks.ts'
import { launchPlan } from './launch-plan.ts'
import type { BundleRecord, ManagerStore, VersionRecord } from './manager-store.ts'
import { bundleDataDir } from './place-bundle.ts'
import { type Run, Supervisor, type SupervisorPolicy } from './supervisor.ts'
import type { LogLine, ManagedInfo, ManagedState } from './types.ts'

/** What a bundle's log offers (src/manager/bundle-log.ts). */
export interface BundleLogPort {
  write(stream: 'stdout' | 'stderr', chunk: Buffer): void
  note(line: string): void
  tail(n: number): Promise<LogLine[]>
  follow(fn: (l: LogLine) => void): () => void
  readonly dropped: number
  close(): Promise<void>
}

/** What every managed bundle shares. */
export interface ManagedContext {
  store: ManagerStore
  dataDir: string
  clock: Clock
  policy: SupervisorPolicy
  stopTimeoutMs: number
  tokenScope: 'read' | 'readwrite'
  defaultMemoryLimitMb: number
  tokens: TokenStore | undefined
  brokerCredentials: BrokerCredentialStore | undefined
  brokerUrl: string
  httpUrl(): string | undefined
  logLevel: string
  logger: Logger
  components(): ComponentInfo[]
  changed(bundle: ManagedBundle, previous: ManagedState): void
}

/** Variables of the gateway's own environment a bundle does not inherit (it gets its own values or none). */
const NOT_INHERITED = /^(BUNDLEGATE_(?!PYTHON$|SETPRIV$)|BROKER_|MX_API_TOKEN$|BUNDLE_|NODE_OPTIONS$)/

export class ManagedBundle {
  record: BundleRecord
  manifest: Manifest
  readonly supervisor: Supervisor
  readonly log: BundleLogPort
  rssBytes: number | null = null
  #overLimit = 0
  readonly #ctx: ManagedContext

  constructor(ctx: ManagedContext, record: BundleRecord, manifest: Manifest, log: BundleLogPort) {
    this.#ctx = ctx
    this.record = record
    this.manifest = manifest
    this.log = log
    this.supervisor = new Supervisor(
      ctx.clock,
      ctx.policy,
      {
        launch: (exited) => this.#launch(exited),
        registered: () => this.registered(),
        changed: (previous) => {
          if (this.supervisor.state !== 'running') this.rssBytes = null
          ctx.changed(this, previous)
        },
        rollback: (reason) => this.#rollBack(reason),
        probationPassed: () => void this.#passProbation(),
      },
      record.enabled ? 'installed' : 'stopped',
    )
    if (!record.enabled) this.supervisor.message = 'disabled'
    this.supervisor.setProbation(record.probation)
  }

  get name(): string {
    return this.record.name
  }

  /** Component names the SDK registers for this bundle: `<name>` and `<name>-<other role>`. */
  ownsComponent(component: string): boolean {
    return component === this.name || component === `${this.name}-view` || component === `${this.name}-model`
  }

  /** Every resource of its manifest is registered, by its own components, online. */
  registered(): boolean {
    const have = new Set<string>()
    for (const c of this.#ctx.components())
      if (c.online && this.ownsComponent(c.name)) for (const p of c.patterns) have.add(p)
    return manifestPatterns(this.manifest).every((p) => have.has(p))
  }

  /** Makes the previous version the current one (and the current the previous), recorded; its process is gone. */
  async switchToPrevious(): Promise<VersionRecord> {
    const prev = this.record.previous
    if (!prev) throw createError('GW_ERR_MANAGER_NO_PREVIOUS', [this.name])
    const record = { ...this.record, current: prev, previous: this.record.current, probation: false }
    await this.#ctx.store.put(record)
    this.record = record
    this.supervisor.setProbation(false)
    this.manifest = await readInstallManifest(this.#ctx.store.codeDir(this.name, prev))
    return prev
  }

  memoryLimitBytes(): number | null {
    const mb = this.record.memoryLimitMb ?? this.#ctx.defaultMemoryLimitMb
    return mb > 0 ? mb * 1024 * 1024 : null
  }

  /** A memory sample of its process tree: two in a row over the limit restart it (a failure). */
  sampled(rss: number | null): void {
    this.rssBytes = rss
    const limit = this.memoryLimitBytes()
    if (rss === null || limit === null || rss <= limit) {
      this.#overLimit = 0
      return
    }
    this.#overLimit++
    if (this.#overLimit >= 2) {
      this.#overLimit = 0
      this.log.note(`over its memory limit (${rss} > ${limit} bytes) twice in a row: restarting`)
      this.supervisor.fail('memory-limit')
    }
  }

  info(): ManagedInfo {
    const s = this.supervisor
    const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString())
    const now = this.#ctx.clock.now()
    return {
      name: this.name,
      version: this.record.current.version,
      previousVersion: this.record.previous?.version ?? null,
      state: s.state,
      enabled: this.record.enabled,
      priority: this.record.priority,
      dependencies: [...this.record.dependencies],
      restarts: s.restarts,
      lastExit: s.lastExit ? { ...s.lastExit } : null,
      startedAt: iso(s.startedAt),
      uptimeSec: s.runningSince === null ? 0 : Math.floor((now - s.runningSince) / 1000),
      pid: s.pid,
      rssBytes: this.rssBytes,
      memoryLimitBytes: this.memoryLimitBytes(),
      nextRetryAt: iso(s.nextRetryAt),
      message: s.message,
      droppedLogLines: this.log.dropped,
    }
  }

  /** A failure of a new version on probation: back to the previous version, said in state, event and log. */
  async #rollBack(reason: string): Promise<void> {
    const from = this.record.current.version
    try {
      const to = await this.switchToPrevious()
      const text = `rolled back from ${from}: ${reason}`
      this.log.note(text)
      this.#ctx.logger.warn({ bundle: this.name, from, to: to.version, reason }, 'upgrade rolled back')
      this.supervisor.message = text
    } catch (err) {
      this.#ctx.logger.error({ bundle: this.name, err }, 'rollback failed')
    }
  }

  async #passProbation(): Promise<void> {
    this.record.probation = false
    this.log.note(`${this.record.current.version} passed its probation`)
    await this.#ctx.store
      .put(this.record)
      .catch((err) => this.#ctx.logger.error({ err }, 'cannot record the probation'))
  }

  async #launch(exited: (code: number | null, signal: string | null) => void): Promise<Run> {
    const ctx = this.#ctx
    const codeDir = ctx.store.codeDir(this.name, this.record.current)
    const limit = this.memoryLimitBytes()
    const plan = launchPlan(codeDir, this.manifest, limit === null ? null : Math.floor(limit / 1024 / 1024))
    const env = await this.#environment(codeDir)
    this.log.note(`starting ${this.name} ${this.record.current.version}: ${plan.kind} ${plan.main}`)
    const child = spawnChild(plan.command, plan.args, { cwd: codeDir, env })
    child.stdout?.on('data', (c: Buffer) => this.log.write('stdout', c))
    child.stderr?.on('data', (c: Buffer) => this.log.write('stderr', c))
    await spawned(child)
    child.on('error', (err) => this.log.note(`process error: ${err.message}`))
    child.once('exit', (code, signal) => {
      this.log.note(signal ? `exited: killed by ${signal}` : `exited with code ${code}`)
      exited(code, signal)
    })
    return {
      pid: child.pid ?? null,
      kill: () => stopChild(child, ctx.stopTimeoutMs),
    }
  }

  /** Its environment, with a new API token and broker credential (the old ones revoked), recorded first. */
  async #environment(codeDir: string): Promise<NodeJS.ProcessEnv> {
    const ctx = this.#ctx
    const env: NodeJS.ProcessEnv = {}
    for (const [k, v] of Object.entries(process.env)) if (!NOT_INHERITED.test(k)) env[k] = v
    // an external broker's URL may carry the gateway's own user and password: a bundle does not get them
    const url = new URL(ctx.brokerUrl)
    url.username = ''
    url.password = ''
    Object.assign(env, {
      BROKER_URL: url.href.replace(/\/$/, ''),
      BROKER_PORT_1883_TCP_ADDR: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      BROKER_PORT_1883_TCP_PORT: url.port || (url.protocol === 'mqtts:' ? '8883' : '1883'),
      BUNDLE_DIR: codeDir,
      BUNDLE_DATA_DIR: bundleDataDir(ctx.dataDir, this.name),
      LOG_LEVEL: ctx.logLevel,
      PYTHONUNBUFFERED: '1',
    })
    const httpUrl = ctx.httpUrl()
    if (httpUrl) env.BUNDLEGATE_URL = httpUrl
    const record = this.record
    if (ctx.tokens) {
      if (record.tokenId) ctx.tokens.revoke(record.tokenId)
      const t = ctx.tokens.create({ description: `bundle ${this.name} (managed)`, scope: ctx.tokenScope })
      record.tokenId = t.token.id
      env.MX_API_TOKEN = t.secret
      env.BUNDLEGATE_TOKEN = t.secret
    }
    if (ctx.brokerCredentials) {
      if (record.credentialId) ctx.brokerCredentials.revoke(record.credentialId)
      const c = ctx.brokerCredentials.create(this.name, { description: `bundle ${this.name} (managed)` })
      record.credentialId = c.credential.id
      env.BROKER_USERNAME = c.username
      env.BROKER_PASSWORD = c.password
    }
    await ctx.store.put(record)
    return env
  }
}

/** Resolves once the process runs; rejects with the spawn error (ENOENT: no python3, …). */
function spawned(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    child.once('spawn', () => resolve())
    child.once('error', (err) => {
      if (child.pid === undefined) reject(err)
    })
  })
}
