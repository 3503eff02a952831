import type { Envelope } from '../protocol/index.ts'
import type { Clock } from './clock.ts'
import type { Component, ComponentInfo, ComponentStats } from './component.ts'
import type { Session } from './session.ts'

/** Per-component request counters (listings, the console): requests routed, errors, the last error. */
export class ComponentCounters {
  readonly #clock: Clock
  readonly #stats = new Map<string, ComponentStats>()

  constructor(clock: Clock) {
    this.#clock = clock
  }

  /** The counters of `name`, created at zero. */
  of(name: string): ComponentStats {
    let st = this.#stats.get(name)
    if (!st) {
      st = { requests: 0, errors: 0, lastError: undefined }
      this.#stats.set(name, st)
    }
    return st
  }

  /** A component registered: it starts from zero. */
  reset(name: string): void {
    this.#stats.delete(name)
  }

  /** Counts a finished session for every model it reached; an error answer is charged to the step that ended it. */
  count(s: Session, message: Envelope): void {
    const code = typeof message.code === 'number' ? message.code : 0
    const lastStep = Math.min(s.step, s.chain.steps.length - 1)
    for (let i = 0; i <= lastStep; i++) {
      for (const c of s.chain.steps[i] ?? []) {
        if (c.builtin) continue
        const st = this.of(c.name)
        st.requests++
        if (code >= 400 && i === lastStep) {
          st.errors++
          st.lastError = { at: this.#clock.now(), code, message: errorText(message).slice(0, 200) }
        }
      }
    }
  }

  /** A snapshot of `c` with its counters. */
  info(c: Component): ComponentInfo {
    return {
      name: c.name,
      role: c.role,
      description: c.description,
      ttlSec: c.ttlSec,
      hooks: [...c.hooks],
      patterns: [...c.patterns],
      tunnel: c.tunnel,
      builtin: c.builtin !== undefined,
      clientId: c.clientId,
      online: c.online,
      registeredAt: c.registeredAt,
      data: c.data,
      stats: { ...this.of(c.name) },
    }
  }
}

function errorText(message: Envelope): string {
  const d = message.data
  if (typeof d === 'string') return d
  if (d && typeof d === 'object' && !Array.isArray(d) && typeof d.message === 'string') return d.message
  return ''
}
