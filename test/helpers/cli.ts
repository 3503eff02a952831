import { PassThrough } from 'node:stream'
import { main } from '../../src/cli/main.ts'

/** What an in-process CLI run gave. */
export interface CliRun {
  code: number
  stdout: string
  stderr: string
}

/** An in-process CLI run still going, with output that can be watched while it runs. */
export interface StartedCli {
  /** The exit code, once the command ends. */
  done: Promise<number>
  /** Everything written to stdout so far. */
  stdout(): string
  /** Everything written to stderr so far. */
  stderr(): string
  /** The non-empty lines of stdout so far. */
  lines(): string[]
}

/** Starts `bundlegate <argv>` in-process (src/cli/main.ts), collecting its output as it comes. */
export function startCli(argv: string[]): StartedCli {
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
  const done = main(argv, { out, err })
  return { done, stdout: () => stdout, stderr: () => stderr, lines: () => stdout.split('\n').filter(Boolean) }
}

/** Runs `bundlegate <argv>` in-process (src/cli/main.ts) and collects its output. */
export async function runCli(argv: string[]): Promise<CliRun> {
  const run = startCli(argv)
  const code = await run.done
  return { code, stdout: run.stdout(), stderr: run.stderr() }
}
