import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** One recorded publish of a capture file (wire-protocol captures in `docs/spec/captures`). */
export interface CaptureRecord {
  topic: string
  /** The payload exactly as recorded (compact on one line, or pretty-printed over several lines). */
  payload: string
  /** The payload parsed with JSON.parse. */
  message: unknown
}

/** The captures folder: `docs/spec/captures` of this repository (the normative copy). */
function capturesDir(): string {
  const dir = fileURLToPath(new URL('../../docs/spec/captures/', import.meta.url))
  if (!existsSync(dir)) throw new Error(`capture folder not found at ${dir}`)
  return dir
}

/** The nesting depth change of one line of JSON text: `{`/`[` open, `}`/`]` close, string contents skipped. */
function depthDelta(text: string): number {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (inString) {
      if (c === '\\') i++
      else if (c === '"') inString = false
    } else if (c === '"') inString = true
    else if (c === '{' || c === '[') depth++
    else if (c === '}' || c === ']') depth--
  }
  return depth
}

/**
 * Reads one capture file. Header lines start with `#`; every other record is `<topic> <payload>`, and a
 * pretty-printed payload continues over the following lines until its braces balance.
 */
export function readCapture(name: string): Array<{ topic: string; payload: string; message: unknown }> {
  const text = readFileSync(resolve(capturesDir(), name), 'utf8')
  const lines = text.split(/\r?\n/)
  const out: CaptureRecord[] = []
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!
    if (line.trim().length === 0 || line.startsWith('#')) continue
    const space = line.indexOf(' ')
    if (space <= 0) throw new Error(`${name}:${i + 1}: expected "<topic> <payload>"`)
    const topic = line.slice(0, space)
    const parts = [line.slice(space + 1)]
    let depth = depthDelta(parts[0]!)
    while (depth > 0) {
      i++
      if (i >= lines.length) throw new Error(`${name}: payload of ${topic} never closes`)
      parts.push(lines[i]!)
      depth += depthDelta(lines[i]!)
    }
    const payload = parts.join('\n')
    out.push({ topic, payload, message: JSON.parse(payload) })
  }
  return out
}

/** Every capture file name (`*.txt`), sorted. */
export function captureFiles(): string[] {
  return readdirSync(capturesDir())
    .filter((f) => f.endsWith('.txt'))
    .sort()
}
