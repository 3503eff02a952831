import type { Logger } from '../logger.ts'
import {
  HOST_DEFAULTS,
  HostedBundle,
  type HostedBundleSpec,
  type HostedStatus,
  type HostLimits,
} from './hosted-bundle.ts'

/**
 * The shared bundle host: several JavaScript bundles in one Node process, each in its own worker thread with its
 * own MQTT connection, heap limit and restarts (docs/host.md). One bundle's crash, `process.exit()`, heap
 * exhaustion or endless loop ends its own thread only; the others go on. A process costs a Node runtime per
 * bundle; a thread shares it (docs/performance.md#many-bundles).
 */
export class BundleHost {
  readonly #limits: HostLimits
  readonly #log: Logger
  readonly #bundles = new Map<string, HostedBundle>()
  #closed = false

  constructor(options: { logger: Logger; limits?: Partial<HostLimits> }) {
    this.#limits = Object.freeze({ ...HOST_DEFAULTS, ...options.limits })
    this.#log = options.logger.child({ component: 'host' })
  }

  get limits(): Readonly<HostLimits> {
    return this.#limits
  }

  /** Adds a bundle and starts it. Names are unique within a host. */
  add(spec: HostedBundleSpec, onState?: (status: HostedStatus) => void): HostedBundle {
    if (this.#closed) throw new Error('the bundle host is closed')
    if (this.#bundles.has(spec.name)) throw new Error(`a bundle named ${spec.name} already runs in this host`)
    const bundle = new HostedBundle(spec, this.#limits, this.#log)
    if (onState) bundle.on('state', onState)
    this.#bundles.set(spec.name, bundle)
    bundle.start()
    return bundle
  }

  get(name: string): HostedBundle | undefined {
    return this.#bundles.get(name)
  }

  /** Stops and forgets one bundle. */
  async remove(name: string): Promise<void> {
    const bundle = this.#bundles.get(name)
    if (!bundle) return
    this.#bundles.delete(name)
    await bundle.stop()
  }

  status(): HostedStatus[] {
    return [...this.#bundles.values()].map((b) => b.status())
  }

  /** Stops every bundle, the last added first (the reverse of their start order). */
  async close(): Promise<void> {
    this.#closed = true
    for (const bundle of [...this.#bundles.values()].reverse()) await bundle.stop()
    this.#bundles.clear()
  }
}
