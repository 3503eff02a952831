/**
 * The bundle manager (docs/manager.md): installs bundles into `<data.dir>/bundles/`, starts the enabled ones at
 * gateway start in priority and dependency order, supervises them (src/manager/supervisor.ts), rolls failed
 * upgrades back, samples their memory, and stops them in reverse order when the gateway stops.
 * @module
 */

import { randomBytes } from 'node:crypto'
import { rm } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { BrokerCredentialStore } from '../broker/index.ts'
import type { Config } from '../config/index.ts'
import { type Clock, type ComponentInfo, systemClock } from '../controller/index.ts'
import { createError } from '../errors.ts'
import type { Logger } from '../logger.ts'
import type { Manifest } from '../sdk/manifest.ts'
import type { TokenStore } from '../tokens/index.ts'
import { checkInstall, readInstallManifest, startOrder } from './install-checks.ts'
import { KeyedSerial } from './keyed-serial.ts'
import { launchPlan } from './launch-plan.ts'
import { type BundleLogPort, ManagedBundle, type ManagedContext } from './managed-bundle.ts'
import { openBundleLog, supervisorPolicy } from './manager-settings.ts'
import { LAYOUT, ManagerStore } from './manager-store.ts'
import { placeBundle, removeBundleFiles } from './place-bundle.ts'
import { processTreeRss } from './process-tree-rss.ts'
import type {
  BundleManagerApi,
  InstallOptions,
  LogLine,
  ManagedInfo,
  ManagedState,
  ManagerEvent,
} from './types.ts'
import { SERVING, type Unavailable, unavailableOf } from './unavailable.ts'
import { unpackTarball } from './unpack-tarball.ts'

/** What {@link BundleManager.open} takes. */
export interface BundleManagerOptions {
  config: Readonly<Config>
  core: { components(): ComponentInfo[]; onChange(listener: () => void): () => void }
  brokerUrl: string
  tokens?: TokenStore | undefined
  brokerCredentials?: BrokerCredentialStore | undefined
  logger: Logger
  /** @default the system clock */
  clock?: Clock
  /** @default a BundleLog on `<data.dir>/logs/<name>.log` */
  openLog?: (name: string) => BundleLogPort
}

export class BundleManager implements BundleManagerApi {
  readonly #opts: BundleManagerOptions
  readonly #store: ManagerStore
  readonly #ctx: ManagedContext
  readonly #bundles = new Map<string, ManagedBundle>()
  readonly #listeners = new Set<(e: ManagerEvent) => void>()
  readonly #locks = new KeyedSerial()
  readonly #log: Logger
  /** Names in the order they were last started: the gateway's stop goes backwards. */
  #order: string[] = []
  #httpUrl: string | undefined
  #closed = false
  #sampler: NodeJS.Timeout | undefined
  #offRegistry: (() => void) | undefined
  #waiting = new Set<string>()

  private constructor(opts: BundleManagerOptions, store: ManagerStore) {
    this.#opts = opts
    this.#store = store
    this.#log = opts.logger.child({ component: 'manager' })
    const m = opts.config.manager
    const policy = supervisorPolicy(m)
    this.#ctx = {
      store,
      dataDir: resolve(opts.config.data.dir),
      clock: opts.clock ?? systemClock,
      policy,
      stopTimeoutMs: m.stopTimeoutSec * 1000,
      tokenScope: m.tokenScope,
      defaultMemoryLimitMb: m.memoryLimitMb,
      tokens: opts.tokens,
      brokerCredentials: opts.brokerCredentials,
      brokerUrl: opts.brokerUrl,
      httpUrl: () => this.#httpUrl,
      logLevel: opts.config.log.level,
      logger: this.#log,
      components: () => opts.core.components(),
      changed: (b, previous) => this.#changed(b, previous),
    }
  }

  /** Opens the record (`<data.dir>/manager.json`) and the manifests of the installed versions; starts nothing. */
  static async open(opts: BundleManagerOptions): Promise<BundleManager> {
    const store = await ManagerStore.open(resolve(opts.config.data.dir))
    const manager = new BundleManager(opts, store)
    for (const record of store.list()) {
      try {
        const manifest = await readInstallManifest(store.codeDir(record.name, record.current))
        manager.#bundles.set(
          record.name,
          new ManagedBundle(manager.#ctx, record, manifest, manager.#openLog(record.name)),
        )
      } catch (err) {
        manager.#log.error(
          { bundle: record.name, err },
          'installed bundle has no readable manifest: not managed',
        )
      }
    }
    manager.#offRegistry = opts.core.onChange(() => {
      for (const b of manager.#bundles.values()) b.supervisor.registrationChanged()
    })
    const every = opts.config.manager.memorySampleSec * 1000
    manager.#sampler = setInterval(() => void manager.#sample(), every)
    manager.#sampler.unref()
    return manager
  }

  /** The web service's URL, given to bundles as BUNDLEGATE_URL (known once it listens). */
  setHttpUrl(url: string): void {
    this.#httpUrl = url
  }

  /**
   * Starts every enabled bundle, one after the other in {@link startOrder}: the next once the previous is running
   * or has failed; a bundle whose dependencies are not running waits for them. Resolves when all were started.
   */
  async startAll(): Promise<void> {
    const all = [...this.#bundles.values()].map((b) => b.record)
    for (const name of startOrder(all)) {
      const b = this.#bundles.get(name)
      if (!b?.record.enabled || this.#closed) continue
      if (!this.#depsRunning(b)) {
        this.#waiting.add(name)
        b.supervisor.message = `waiting for ${b.record.dependencies.join(', ')}`
        continue
      }
      this.#launch(b)
      await this.#settled(b)
    }
  }

  list(): ManagedInfo[] {
    return [...this.#bundles.values()].map((b) => b.info())
  }

  get(name: string): ManagedInfo | undefined {
    return this.#bundles.get(name)?.info()
  }

  async installDirectory(dir: string, options: InstallOptions = {}): Promise<ManagedInfo> {
    this.#open()
    const source = resolve(dir)
    const manifest = await readInstallManifest(source)
    // one install at a time (its checks look at every bundle), and after every operation on the same bundle;
    // the wait for the new version to come up holds neither lock (a stop may interrupt it)
    const b = await this.#locks.run('\0install', () =>
      this.#locks.run(manifest.name, () => this.#install(source, manifest, options)),
    )
    await this.#settled(b)
    return b.info()
  }

  /** Unpacks into `bundles/.staging/` (capped, hostile entries refused), then installs from there. */
  async installTarball(source: NodeJS.ReadableStream, options: InstallOptions = {}): Promise<ManagedInfo> {
    this.#open()
    const m = this.#opts.config.manager
    const dest = join(this.#store.bundlesDir, LAYOUT.staging, `upload-${randomBytes(6).toString('hex')}`)
    const { root } = await unpackTarball(source, dest, {
      maxCompressedBytes: m.uploadMaxBytes,
      maxUnpackedBytes: m.uploadMaxUnpackedBytes,
      maxEntries: m.uploadMaxEntries,
    })
    try {
      return await this.installDirectory(root, options)
    } finally {
      await rm(dest, { recursive: true, force: true })
    }
  }

  start(name: string): Promise<ManagedInfo> {
    return this.#thenSettled(name, async () => {
      const b = this.#need(name)
      this.#waiting.delete(name)
      this.#launch(b)
      return b
    })
  }

  stop(name: string): Promise<ManagedInfo> {
    return this.#locks.run(name, async () => {
      const b = this.#need(name)
      this.#waiting.delete(name)
      await b.supervisor.stop('stopped by request')
      return b.info()
    })
  }

  async restart(name: string): Promise<ManagedInfo> {
    await this.stop(name)
    return this.start(name)
  }

  setEnabled(name: string, enabled: boolean): Promise<ManagedInfo> {
    return this.#thenSettled(name, async () => {
      const b = this.#need(name)
      b.record.enabled = enabled
      await this.#store.put(b.record)
      if (!enabled) await b.supervisor.stop('disabled')
      else if (!SERVING.has(b.supervisor.state)) this.#launch(b)
      return b
    })
  }

  rollback(name: string): Promise<ManagedInfo> {
    return this.#thenSettled(name, async () => {
      const b = this.#need(name)
      const from = b.record.current.version
      if (!b.record.previous) throw createError('GW_ERR_MANAGER_NO_PREVIOUS', [b.name])
      await b.supervisor.stop(`rolling back to ${b.record.previous.version}`)
      await b.switchToPrevious()
      b.log.note(`rolled back from ${from} to ${b.record.current.version} on request`)
      if (b.record.enabled) this.#launch(b, `rolled back from ${from} on request`)
      return b
    })
  }

  uninstall(name: string, options: { purge?: boolean } = {}): Promise<void> {
    return this.#locks.run(name, async () => {
      const b = this.#need(name)
      const users = [...this.#bundles.values()]
        .filter((o) => o.record.dependencies.includes(name))
        .map((o) => o.name)
      if (users.length > 0) throw createError('GW_ERR_MANAGER_REQUIRED', [name, users.join(', ')])
      await b.supervisor.stop('uninstalling')
      b.supervisor.dispose()
      if (b.record.tokenId) this.#ctx.tokens?.revoke(b.record.tokenId)
      if (this.#ctx.brokerCredentials?.hasActive(name)) this.#ctx.brokerCredentials.revoke(name)
      await this.#store.remove(name)
      this.#bundles.delete(name)
      this.#order = this.#order.filter((n) => n !== name)
      await b.log.close()
      await removeBundleFiles(this.#store, this.#ctx.dataDir, name, options.purge === true)
      this.#log.info({ bundle: name, purge: options.purge === true }, 'bundle uninstalled')
    })
  }

  tail(name: string, n: number): Promise<LogLine[]> {
    return this.#need(name).log.tail(n)
  }

  follow(name: string, onLine: (line: LogLine) => void): () => void {
    return this.#need(name).log.follow(onLine)
  }

  unavailable(resource: string): Unavailable | undefined {
    return unavailableOf(this.#bundles.values(), resource)
  }

  onEvent(listener: (event: ManagerEvent) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** Stops every bundle, in reverse start order; then its logs. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    clearInterval(this.#sampler)
    this.#offRegistry?.()
    const rest = [...this.#bundles.keys()].filter((n) => !this.#order.includes(n))
    for (const name of [...this.#order].reverse().concat(rest)) {
      const b = this.#bundles.get(name)
      if (!b) continue
      await b.supervisor.stop('the gateway is stopping').catch(() => {})
      b.supervisor.dispose()
    }
    for (const b of this.#bundles.values()) await b.log.close()
    await this.#store.flushed()
  }

  async #install(source: string, manifest: Manifest, options: InstallOptions): Promise<ManagedBundle> {
    const existing = this.#bundles.get(manifest.name)
    const deps = checkInstall(manifest, options, [...this.#bundles.values()], this.#opts.core.components())
    launchPlan(source, manifest, null) // its main must be startable
    if (existing) await existing.supervisor.stop(`installing ${manifest.version}`)
    const record = await placeBundle(
      this.#store,
      this.#ctx.dataDir,
      source,
      {
        name: manifest.name,
        version: manifest.version,
        priority: manifest.priority ?? 0,
        dependencies: deps,
      },
      existing?.record,
    )
    const b = existing ?? new ManagedBundle(this.#ctx, record, manifest, this.#openLog(manifest.name))
    b.record = record
    b.manifest = await readInstallManifest(this.#store.codeDir(record.name, record.current))
    b.supervisor.setProbation(record.probation)
    this.#bundles.set(b.name, b)
    const how = existing
      ? `upgraded ${existing.record.previous?.version ?? ''} -> ${record.current.version}`.replace('  ', ' ')
      : `installed ${record.current.version}`
    b.log.note(how)
    this.#log.info(
      { bundle: b.name, version: record.current.version },
      existing ? 'bundle upgraded' : 'bundle installed',
    )
    if (options.start !== false && record.enabled) {
      this.#launch(b, existing ? `upgraded from ${record.previous?.version}` : '')
    }
    return b
  }

  #launch(b: ManagedBundle, message = ''): void {
    this.#order = this.#order.filter((n) => n !== b.name).concat(b.name)
    b.supervisor.start(true, message)
  }

  /** Resolves once the bundle is no longer `starting`. */
  #settled(b: ManagedBundle): Promise<void> {
    if (b.supervisor.state !== 'starting') return Promise.resolve()
    return new Promise((done) => {
      const off = this.onEvent((e) => {
        if (e.name === b.name && e.state !== 'starting') {
          off()
          done()
        }
      })
    })
  }

  #depsRunning(b: ManagedBundle): boolean {
    return b.record.dependencies.every(
      (d) => this.#bundles.get(d)?.supervisor.state === 'running' || !this.#bundles.has(d),
    )
  }

  #changed(b: ManagedBundle, previous: ManagedState): void {
    const managed = b.info()
    if (managed.state !== previous)
      b.log.note(`state ${previous} -> ${managed.state}${managed.message ? `: ${managed.message}` : ''}`)
    const event: ManagerEvent = { name: b.name, state: managed.state, previousState: previous, managed }
    for (const l of this.#listeners) {
      try {
        l(event)
      } catch (err) {
        this.#log.warn({ err }, 'manager event listener failed')
      }
    }
    if (managed.state === 'running' && this.#waiting.size > 0 && !this.#closed) {
      for (const name of [...this.#waiting]) {
        const w = this.#bundles.get(name)
        if (!w || !this.#depsRunning(w)) continue
        this.#waiting.delete(name)
        this.#launch(w)
      }
    }
  }

  async #sample(): Promise<void> {
    const running = [...this.#bundles.values()].filter((b) => b.supervisor.pid !== null)
    const sizes = await processTreeRss(running.map((b) => b.supervisor.pid as number))
    for (const b of running) if (b.supervisor.pid !== null) b.sampled(sizes.get(b.supervisor.pid) ?? null)
  }

  #openLog(name: string): BundleLogPort {
    return this.#opts.openLog?.(name) ?? openBundleLog(this.#ctx.dataDir, this.#opts.config.manager, name)
  }

  #need(name: string): ManagedBundle {
    this.#open()
    const b = this.#bundles.get(name)
    if (!b) throw createError('GW_ERR_MANAGER_NOT_FOUND', [name])
    return b
  }

  #open(): void {
    if (this.#closed) throw createError('GW_ERR_MANAGER_CLOSED')
  }

  /** `#locks.run`, then (outside the lock) waits until the bundle is no longer `starting`. */
  async #thenSettled(name: string, fn: () => Promise<ManagedBundle>): Promise<ManagedInfo> {
    const b = await this.#locks.run(name, fn)
    await this.#settled(b)
    return b.info()
  }
}
