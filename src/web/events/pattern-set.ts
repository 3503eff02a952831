import { createError, type GatewayError } from '../../errors.ts'
import { MAX_RESOURCE_CHARS, patternMatches } from '../../protocol/index.ts'

/** Patterns one client may hold. */
const MAX_PATTERNS = 64

/**
 * The resource patterns one push client subscribed to. Matching is the controller's (wire-protocol.md §5.1,
 * [WP-24]): `+` is one level, `#` one or more characters to the end; the query of a resource is ignored [WP-25].
 * Unlike the controller, wildcards are accepted only as whole levels (`/a/+/b`, `/a/#`), never inside one (`/a+`).
 */
export class PatternSet {
  static readonly MAX = MAX_PATTERNS
  readonly #patterns = new Set<string>()

  /** Why `pattern` is not a valid subscription pattern, or undefined when it is. */
  static problem(pattern: unknown): string | undefined {
    if (typeof pattern !== 'string') return `Expected a resource pattern (string), got ${typeof pattern}`
    const shown = JSON.stringify(pattern.length > 80 ? `${pattern.slice(0, 80)}…` : pattern)
    if (!pattern.startsWith('/')) return `pattern ${shown} must start with "/"`
    if (pattern.length > MAX_RESOURCE_CHARS)
      return `pattern ${shown} exceeds ${MAX_RESOURCE_CHARS} characters`
    if (pattern.includes('?')) return `pattern ${shown} must not contain "?" (queries are not matched)`
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
    if (/[\u0000-\u001f\u007f]/.test(pattern)) return `pattern ${shown} contains a control character`
    const levels = pattern.slice(1).split('/')
    for (let i = 0; i < levels.length; i++) {
      const level = levels[i] as string
      if (level === '#' && i !== levels.length - 1) return `pattern ${shown}: "#" must be the last level`
      if (level !== '+' && level !== '#' && /[+#]/.test(level))
        return `pattern ${shown}: "+" and "#" must stand for a whole level, as in /a/+/b or /a/#`
    }
    return undefined
  }

  /**
   * The patterns of a query (`?resource=a&resource=b`): a string, an array of strings, or undefined (none).
   * @throws GW_ERR_EVENTS_PATTERN naming the first bad pattern, or when there are more than {@link PatternSet.MAX}.
   */
  static fromQuery(value: unknown, required: boolean): PatternSet {
    const list = value === undefined ? [] : Array.isArray(value) ? value : [value]
    if (required && list.length === 0)
      throw patternError('give at least one ?resource=<pattern> (/# for every event)')
    const set = new PatternSet()
    for (const p of list) {
      const problem = PatternSet.problem(p)
      if (problem) throw patternError(problem)
      if (!set.add(p as string)) throw patternError(`at most ${MAX_PATTERNS} patterns per client`)
    }
    return set
  }

  get size(): number {
    return this.#patterns.size
  }

  /** Adds a valid pattern; false when the set is full (an existing pattern is always accepted). */
  add(pattern: string): boolean {
    if (this.#patterns.has(pattern)) return true
    if (this.#patterns.size >= MAX_PATTERNS) return false
    this.#patterns.add(pattern)
    return true
  }

  /** Removes a pattern; true when it was there. */
  delete(pattern: string): boolean {
    return this.#patterns.delete(pattern)
  }

  /** Whether any pattern matches `name` (a resource without its query). */
  matches(name: string): boolean {
    for (const p of this.#patterns) if (patternMatches(p, name)) return true
    return false
  }

  /** The patterns, in the order they were added. */
  list(): string[] {
    return [...this.#patterns]
  }
}

function patternError(message: string): GatewayError {
  return createError('GW_ERR_EVENTS_PATTERN', [message])
}
