/**
 * Where strict JSON parsing of a text fails, for the manifest's error messages (JSON.parse messages do not always
 * carry the position): a small recursive scanner that stops at the first character that cannot continue.
 * @module
 */

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y
/** Thrown (and caught) to stop the scan at the first error. */
const STOP = new Error('stop')

/** One scan of `text`; `i` is the position reached. */
class Scanner {
  readonly text: string
  i = 0

  constructor(text: string) {
    this.text = text
  }

  fail(): never {
    throw STOP
  }

  ws(): void {
    const text = this.text
    while (text[this.i] === ' ' || text[this.i] === '\t' || text[this.i] === '\n' || text[this.i] === '\r')
      this.i++
  }

  string(): void {
    const text = this.text
    this.i++
    for (;;) {
      const c = text[this.i]
      if (c === undefined || c < ' ') this.fail()
      if (c === '"') {
        this.i++
        return
      }
      if (c === '\\') {
        const e = text[this.i + 1]
        if (e !== undefined && '"\\/bfnrt'.includes(e)) this.i += 2
        else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(this.i + 2, this.i + 6))) this.i += 6
        else {
          this.i++
          this.fail()
        }
      } else this.i++
    }
  }

  /** An object or an array, from its opening bracket to `close`. */
  container(close: '}' | ']'): void {
    const text = this.text
    this.i++
    this.ws()
    if (text[this.i] === close) {
      this.i++
      return
    }
    for (;;) {
      if (close === '}') {
        this.ws()
        if (text[this.i] !== '"') this.fail()
        this.string()
        this.ws()
        if (text[this.i] !== ':') this.fail()
        this.i++
      }
      this.value()
      this.ws()
      if (text[this.i] === ',') this.i++
      else if (text[this.i] === close) {
        this.i++
        return
      } else this.fail()
    }
  }

  value(): void {
    const text = this.text
    this.ws()
    const c = text[this.i]
    if (c === '{' || c === '[') {
      this.container(c === '{' ? '}' : ']')
      return
    }
    if (c === '"') {
      this.string()
      return
    }
    for (const word of ['true', 'false', 'null']) {
      if (text.startsWith(word, this.i)) {
        this.i += word.length
        return
      }
    }
    NUMBER.lastIndex = this.i
    if (NUMBER.test(text)) {
      this.i = NUMBER.lastIndex
      return
    }
    this.fail()
  }
}

/** The offset where strict JSON parsing of `text` fails (JSON.parse messages do not always carry it). */
export function jsonErrorOffset(text: string): number {
  const scan = new Scanner(text)
  try {
    scan.value()
    scan.ws()
    if (scan.i < text.length) scan.fail()
  } catch (err) {
    if (err !== STOP) throw err
  }
  return Math.min(scan.i, text.length)
}
