import { join } from 'node:path'

/**
 * The command line of `bundlegate start` for a benchmark, after the node executable: `entry` (`dist/cli/bin.js` or
 * `src/cli/bin.ts`), web service and broker on loopback with ports the OS chooses, the data directory and the token
 * file (`<dataDir>/mx-api-token`) inside `dataDir`, then `extra`. The start-up banner tells the ports.
 * @example spawn(process.execPath, gatewayStartArgs(join(repo, 'dist/cli/bin.js'), dataDir, ['--example']))
 */
export function gatewayStartArgs(entry: string, dataDir: string, extra: readonly string[] = []): string[] {
  return [
    entry,
    'start',
    '--http-host',
    '127.0.0.1',
    '--http-port',
    '0',
    '--broker-host',
    '127.0.0.1',
    '--broker-port',
    '0',
    '--data-dir',
    dataDir,
    '--token-file',
    join(dataDir, 'mx-api-token'),
    ...extra,
  ]
}
