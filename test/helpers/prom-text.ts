/**
 * A strict parser of the Prometheus text exposition format 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/), for the metrics tests. No parser is installed
 * (prom-client only writes the format), so this one follows the spec's grammar and rejects what Prometheus would:
 * bad names, bad escapes, a TYPE after its samples, a family split in two, duplicate series, histogram buckets that
 * are not cumulative or whose `+Inf` bucket differs from `_count`.
 * @module
 */

export interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

export interface Family {
  name: string
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped'
  help: string | undefined
  samples: Sample[]
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped'])

function fail(line: number, why: string): never {
  throw new Error(`exposition line ${line}: ${why}`)
}

/** Values follow Go's strconv.ParseFloat, as the spec says: NaN and Inf in any case (prom-client writes `Nan`). */
function parseValue(text: string, line: number): number {
  if (/^[-+]?(inf|infinity)$/i.test(text))
    return text.startsWith('-') ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY
  if (/^nan$/i.test(text)) return Number.NaN
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) fail(line, `bad value ${JSON.stringify(text)}`)
  return Number(text)
}

/** The family a sample name belongs to: histogram and summary samples carry suffixes. */
function familyOf(name: string, families: Map<string, Family>): Family | undefined {
  for (const suffix of ['_bucket', '_sum', '_count', '']) {
    if (!name.endsWith(suffix)) continue
    const f = families.get(name.slice(0, name.length - suffix.length))
    if (f && (suffix === '' || f.type === 'histogram' || f.type === 'summary')) return f
  }
  return undefined
}

function parseLabels(rest: string, line: number): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {}
  let s = rest.slice(1)
  for (;;) {
    s = s.trimStart()
    if (s.startsWith('}')) return { labels, rest: s.slice(1) }
    const n = LABEL_NAME.exec(s)
    if (!n) fail(line, `bad label name in ${JSON.stringify(s)}`)
    const name = n[0]
    s = s.slice(name.length).trimStart()
    if (!s.startsWith('="')) fail(line, `label ${name} without ="value"`)
    s = s.slice(2)
    let value = ''
    for (;;) {
      const c = s[0]
      if (c === undefined) fail(line, `unterminated value of label ${name}`)
      s = s.slice(1)
      if (c === '"') break
      if (c === '\\') {
        const e = s[0]
        s = s.slice(1)
        if (e === '\\') value += '\\'
        else if (e === '"') value += '"'
        else if (e === 'n') value += '\n'
        else fail(line, `bad escape \\${e} in label ${name}`)
      } else value += c
    }
    if (name in labels) fail(line, `label ${name} twice`)
    labels[name] = value
    s = s.trimStart()
    if (s.startsWith(',')) s = s.slice(1)
    else if (!s.startsWith('}')) fail(line, `expected , or } after label ${name}`)
  }
}

/** Parses a whole exposition; throws on the first violation, naming its line. */
export function parsePrometheusText(text: string): Map<string, Family> {
  const families = new Map<string, Family>()
  const closed = new Set<string>()
  const series = new Set<string>()
  let currentFamily: string | undefined
  const lines = text.split('\n')
  if (lines[lines.length - 1] !== '') fail(lines.length, 'the exposition must end with a line feed')
  lines.forEach((raw, i) => {
    const line = i + 1
    if (raw.trim() === '') return
    if (raw.startsWith('#')) {
      const m = /^# (HELP|TYPE) ([^ ]+)(?: (.*))?$/.exec(raw)
      if (!m) return // a plain comment
      const [, kind, name = '', arg = ''] = m
      if (!METRIC_NAME.test(name) || METRIC_NAME.exec(name)?.[0] !== name)
        fail(line, `bad metric name ${name}`)
      let f = families.get(name)
      if (f && (closed.has(name) || f.samples.length > 0)) fail(line, `${kind} for ${name} after its samples`)
      if (!f) {
        f = { name, type: 'untyped', help: undefined, samples: [] }
        families.set(name, f)
      }
      if (currentFamily !== undefined && currentFamily !== name) closed.add(currentFamily)
      currentFamily = name
      if (kind === 'TYPE') {
        if (!TYPES.has(arg)) fail(line, `bad type ${arg}`)
        f.type = arg as Family['type']
      } else {
        if (f.help !== undefined) fail(line, `HELP for ${name} twice`)
        f.help = arg.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c))
      }
      return
    }
    const n = METRIC_NAME.exec(raw)
    if (!n) fail(line, `bad sample ${JSON.stringify(raw)}`)
    const name = n[0]
    let rest = raw.slice(name.length)
    let labels: Record<string, string> = {}
    if (rest.startsWith('{')) ({ labels, rest } = parseLabels(rest, line))
    const parts = rest.trim().split(/\s+/)
    if (!rest.startsWith(' ') || parts.length < 1 || parts.length > 2)
      fail(line, `bad value part ${JSON.stringify(rest)}`)
    const value = parseValue(parts[0] as string, line)
    if (parts[1] !== undefined && !/^-?\d+$/.test(parts[1])) fail(line, `bad timestamp ${parts[1]}`)
    let f = familyOf(name, families)
    if (!f) {
      f = { name, type: 'untyped', help: undefined, samples: [] }
      families.set(name, f)
    }
    if (closed.has(f.name)) fail(line, `family ${f.name} is split in two`)
    if (currentFamily !== undefined && currentFamily !== f.name) closed.add(currentFamily)
    currentFamily = f.name
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`
    if (series.has(key)) fail(line, `duplicate series ${key}`)
    series.add(key)
    f.samples.push({ name, labels, value })
  })
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f)
  return families
}

function checkHistogram(f: Family): void {
  const groups = new Map<string, { buckets: Array<[number, number]>; count?: number; sum?: number }>()
  for (const s of f.samples) {
    const { le, ...rest } = s.labels
    const key = JSON.stringify(Object.entries(rest).sort())
    let g = groups.get(key)
    if (!g) {
      g = { buckets: [] }
      groups.set(key, g)
    }
    if (s.name === `${f.name}_bucket`) {
      if (le === undefined) throw new Error(`${f.name}: bucket without le`)
      g.buckets.push([le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le), s.value])
    } else if (s.name === `${f.name}_count`) g.count = s.value
    else if (s.name === `${f.name}_sum`) g.sum = s.value
    else throw new Error(`${f.name}: unexpected sample ${s.name}`)
  }
  for (const [key, g] of groups) {
    const b = g.buckets
    if (b.length === 0 || b[b.length - 1]?.[0] !== Number.POSITIVE_INFINITY)
      throw new Error(`${f.name}${key}: no +Inf bucket`)
    for (let i = 1; i < b.length; i++) {
      const [le0, c0] = b[i - 1] as [number, number]
      const [le1, c1] = b[i] as [number, number]
      if (!(le1 > le0) || c1 < c0) throw new Error(`${f.name}${key}: buckets not cumulative`)
    }
    if (g.count !== b[b.length - 1]?.[1]) throw new Error(`${f.name}${key}: +Inf bucket is not _count`)
    if (g.sum === undefined) throw new Error(`${f.name}${key}: no _sum`)
  }
}

/** The value of the one sample of `name` whose labels include `labels`; undefined when none. */
export function sampleValue(
  families: Map<string, Family>,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const f of families.values()) {
    for (const s of f.samples) {
      if (s.name !== name) continue
      if (Object.entries(labels).every(([k, v]) => s.labels[k] === v)) return s.value
    }
  }
  return undefined
}
