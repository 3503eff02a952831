/** Where a command writes: its own output stream (the CLI's only console), and errors. */
export interface CliIo {
  out: NodeJS.WritableStream
  err: NodeJS.WritableStream
}

/** Writes one line. */
export function line(stream: NodeJS.WritableStream, text = ''): void {
  stream.write(`${text}\n`)
}
