import { PassThrough } from 'node:stream'
import { main } from '../../src/cli/main.ts'

/** What an in-process CLI run gave. */
export interface CliRun {
  code: number
  stdout: string
  stderr: string
}

/** Runs `bundlegate <argv>` in-process (src/cli/main.ts) and collects its output. */
export async function runCli(argv: string[]): Promise<CliRun> {
  const out = new PassThrough()
  const err = new PassThrough()
  let stdout = ''
  let stderr = ''
  out.on('data', (d: Buffer) => {
    stdout += d.toString()
  })
  err.on('data', (d: Buffer) => {
    stderr += d.toString()
  })
  const code = await main(argv, { out, err })
  return { code, stdout, stderr }
}
