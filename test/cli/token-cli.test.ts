/**
 * `bundlegate token …` in-process (`main(['token', …], io)`), on temp data directories and token files only: never
 * /etc/mx-api-token nor the repository's data/.
 */
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { TokenStore } from '../../src/tokens/index.ts'
import { runCli } from '../helpers/cli.ts'
import { lifo } from '../helpers/gateway.ts'

const DAY_MS = 86_400_000

interface Run {
  code: number
  stdout: string
  stderr: string
}

/** A temp data dir and token file, and the CLI bound to them. */
async function workspace(t: { after: (fn: () => Promise<void>) => void }) {
  const defer = lifo(t)
  const dir = await mkdtemp(join(tmpdir(), 'bg-token-cli-'))
  defer(() => rm(dir, { recursive: true, force: true }))
  const dataDir = join(dir, 'data')
  const tokenFile = join(dir, 'mx-api-token')
  const run = (argv: string[]): Promise<Run> =>
    runCli(['token', ...argv, '--data-dir', dataDir, '--token-file', tokenFile])
  /** Opens the token store the CLI wrote (closed after the test). */
  const store = () => {
    const s = TokenStore.open(dataDir)
    defer(() => s.close())
    return s
  }
  return { run, store, dataDir, tokenFile }
}

const SECRET = /bgt_[A-Za-z0-9_-]{43}/g

describe('bundlegate token (in-process)', () => {
  test('create --scope read: prints the id and the secret once; the secret verifies as a read token [HA-6] [HA-7]', async (t) => {
    const { run, store } = await workspace(t)
    const r = await run(['create', '--scope', 'read', '--description', 'dashboard'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stderr, '')
    const id = /^Created token (tk_[a-z2-7]{10}) \(read\)\.$/m.exec(r.stdout)?.[1]
    assert.ok(id, r.stdout)
    const secrets = r.stdout.match(SECRET) ?? []
    assert.equal(secrets.length, 1, 'the secret is shown exactly once')
    assert.match(r.stdout, /shown only now/)
    const verified = store().verify(secrets[0] as string)
    assert.ok(verified.ok)
    assert.equal(verified.token.id, id)
    assert.equal(verified.token.scope, 'read')
    assert.equal(verified.token.description, 'dashboard')
    assert.equal(verified.token.expiresAt, null)
  })

  test('create --scope readwrite --expires 30d --json: parseable JSON with the secret once, expiresAt ≈ now + 30 d [HA-6] [HA-7]', async (t) => {
    const { run, store } = await workspace(t)
    const before = Date.now()
    const r = await run([
      'create',
      '--scope',
      'readwrite',
      '--description',
      'line PLC',
      '--expires',
      '30d',
      '--json',
    ])
    const after = Date.now()
    assert.equal(r.code, 0, r.stderr)
    const json = JSON.parse(r.stdout) as Record<string, unknown>
    assert.deepEqual(Object.keys(json).sort(), [
      'createdAt',
      'description',
      'expiresAt',
      'id',
      'lastUsedAt',
      'revokedAt',
      'root',
      'scope',
      'token',
    ])
    assert.equal(json.scope, 'readwrite')
    assert.equal(json.description, 'line PLC')
    assert.equal(json.root, false)
    assert.equal(json.revokedAt, null)
    assert.equal(json.lastUsedAt, null)
    assert.match(json.token as string, /^bgt_[A-Za-z0-9_-]{43}$/)
    assert.equal((r.stdout.match(SECRET) ?? []).length, 1, 'the secret appears once')
    for (const k of ['createdAt', 'expiresAt'])
      assert.match(json[k] as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, `${k} is ISO 8601 UTC`)
    const expiresAt = Date.parse(json.expiresAt as string)
    assert.ok(expiresAt >= before + 30 * DAY_MS && expiresAt <= after + 30 * DAY_MS, json.expiresAt as string)
    assert.equal(expiresAt - Date.parse(json.createdAt as string), 30 * DAY_MS)
    const verified = store().verify(json.token as string)
    assert.ok(verified.ok)
    assert.equal(verified.token.scope, 'readwrite')
    // the human form names the expiry too
    const human = await run(['create', '--scope', 'read', '--description', 'x', '--expires', '12h'])
    assert.match(
      human.stdout,
      /^Created token tk_[a-z2-7]{10} \(read, expires \d{4}-\d\d-\d\dT[\d:.]+Z\)\.$/m,
    )
  })

  test('list: a table with a header and one row per token (state active, revoked, expired); --json without secrets [HA-7]', async (t) => {
    const { run } = await workspace(t)
    const empty = await run(['list'])
    assert.equal(empty.code, 0, empty.stderr)
    assert.equal(empty.stdout, 'No tokens.\n')
    assert.deepEqual(JSON.parse((await run(['list', '--json'])).stdout), [])

    const make = async (...args: string[]) => {
      const r = await run(['create', ...args, '--json'])
      assert.equal(r.code, 0, r.stderr)
      return JSON.parse(r.stdout) as { id: string; token: string }
    }
    const a = await make('--scope', 'read', '--description', 'grafana dashboard')
    const b = await make('--scope', 'readwrite', '--description', 'plc', '--expires', '30d')
    const c = await make('--scope', 'read', '--description', 'old')
    const d = await make('--scope', 'read', '--description', 'short', '--expires', '1s')
    assert.equal((await run(['revoke', c.id])).code, 0)
    await new Promise((r) => setTimeout(r, 1100)) // d expires

    const table = await run(['list'])
    assert.equal(table.code, 0, table.stderr)
    const lines = table.stdout.trimEnd().split('\n')
    assert.match(lines[0] ?? '', /^ID\s+SCOPE\s+DESCRIPTION\s+CREATED\s+LAST USED\s+EXPIRES\s+STATE$/)
    assert.equal(lines.length, 5, table.stdout)
    const row = (id: string) => lines.find((l) => l.startsWith(id)) ?? assert.fail(`no row for ${id}`)
    assert.match(row(a.id), /\bread\s+grafana dashboard\s+\d{4}-\d\d-\d\d \d\d:\d\d\s+-\s+never\s+active$/)
    assert.match(row(b.id), /\breadwrite\s+plc\s+.*\d{4}-\d\d-\d\d \d\d:\d\d\s+active$/)
    assert.match(row(c.id), /\brevoked$/)
    assert.match(row(d.id), /\bexpired$/)
    assert.doesNotMatch(table.stdout, SECRET, 'the table shows no secret')
    // columns are aligned: every row starts its SCOPE column where the header does
    const scopeAt = (lines[0] ?? '').indexOf('SCOPE')
    for (const l of lines.slice(1)) assert.match(l.slice(scopeAt), /^(read|readwrite) /)

    const json = await run(['list', '--json'])
    assert.equal(json.code, 0, json.stderr)
    const listed = JSON.parse(json.stdout) as Array<Record<string, unknown>>
    assert.equal(listed.length, 4)
    assert.deepEqual(new Set(listed.map((x) => x.id)), new Set([a.id, b.id, c.id, d.id]))
    for (const x of listed) {
      assert.equal(x.token, undefined, 'no secret in the list')
      assert.equal(x.hash, undefined, 'no hash in the list')
    }
    assert.doesNotMatch(json.stdout, SECRET)
    assert.notEqual(listed.find((x) => x.id === c.id)?.revokedAt, null)
  })

  test('revoke <id>: the secret stops verifying; an unknown id → exit 1 GW_ERR_TOKEN_NOT_FOUND; no id → exit 2', async (t) => {
    const { run, store } = await workspace(t)
    const created = JSON.parse(
      (await run(['create', '--scope', 'readwrite', '--description', 'to revoke', '--json'])).stdout,
    ) as { id: string; token: string }
    const s = store()
    assert.ok(s.verify(created.token).ok)
    const r = await run(['revoke', created.id])
    assert.equal(r.code, 0, r.stderr)
    assert.match(
      r.stdout,
      new RegExp(`^Revoked token ${created.id} \\(to revoke\\) at \\d{4}-\\d\\d-\\d\\dT`),
    )
    assert.deepEqual(s.verify(created.token), { ok: false, reason: 'revoked' })
    const json = await run(['revoke', created.id, '--json'])
    assert.equal(json.code, 0, 'revoking again is not an error')
    assert.equal((JSON.parse(json.stdout) as { id: string }).id, created.id)

    const unknown = await run(['revoke', 'tk_aaaaaaaaaa'])
    assert.equal(unknown.code, 1)
    assert.equal(unknown.stdout, '')
    assert.match(unknown.stderr, /no token with id 'tk_aaaaaaaaaa'.*GW_ERR_TOKEN_NOT_FOUND/)
    const missing = await run(['revoke'])
    assert.equal(missing.code, 2)
    assert.match(missing.stderr, /usage: bundlegate token revoke <id>.*GW_ERR_CLI_USAGE/)
    assert.equal((await run(['revoke', 'a', 'b'])).code, 2)
  })

  test('rotate-root: writes the token file (mode 0600, one secret), rewrites it on each rotation; the old secret no longer verifies [HA-8]', async (t) => {
    const { run, store, tokenFile } = await workspace(t)
    const first = await run(['rotate-root'])
    assert.equal(first.code, 0, first.stderr)
    assert.ok(first.stdout.includes(tokenFile), first.stdout)
    assert.match(first.stdout, /mode 0600/)
    assert.doesNotMatch(first.stdout, SECRET, 'the secret is never printed')
    const text1 = await readFile(tokenFile, 'utf8')
    assert.match(text1, /^bgt_[A-Za-z0-9_-]{43}\n$/)
    assert.equal((await stat(tokenFile)).mode & 0o777, 0o600)
    const s = store()
    const v1 = s.verify(text1.trim())
    assert.ok(v1.ok)
    assert.equal(v1.token.scope, 'admin')
    assert.equal(v1.token.root, true)

    const second = await run(['rotate-root', '--json'])
    assert.equal(second.code, 0, second.stderr)
    const json = JSON.parse(second.stdout) as { id: string; path: string; scope: string; root: boolean }
    assert.equal(json.path, tokenFile)
    assert.equal(json.scope, 'admin')
    assert.equal(json.root, true)
    const text2 = await readFile(tokenFile, 'utf8')
    assert.match(text2, /^bgt_[A-Za-z0-9_-]{43}\n$/)
    assert.notEqual(text2, text1)
    assert.equal((await stat(tokenFile)).mode & 0o777, 0o600)
    assert.deepEqual(
      s.verify(text1.trim()),
      { ok: false, reason: 'revoked' },
      'the old root secret is refused',
    )
    const v2 = s.verify(text2.trim())
    assert.ok(v2.ok)
    assert.equal(v2.token.id, json.id)
    const roots = s.list().filter((x) => x.root && x.revokedAt === null)
    assert.deepEqual(
      roots.map((x) => x.id),
      [json.id],
      'exactly one active root token',
    )
  })

  test('usage errors exit 2 with a clear message: bad or missing scope, missing description, unknown sub-command or option', async (t) => {
    const { run, store } = await workspace(t)
    const admin = await run(['create', '--scope', 'admin', '--description', 'x'])
    assert.equal(admin.code, 2)
    assert.match(admin.stderr, /Expected `--scope` to be read or readwrite, got `admin`.*GW_ERR_CLI_USAGE/)
    const noScope = await run(['create', '--description', 'x'])
    assert.equal(noScope.code, 2)
    assert.match(noScope.stderr, /Expected `--scope` to be read or readwrite, got `nothing`/)
    const noDescription = await run(['create', '--scope', 'read'])
    assert.equal(noDescription.code, 2)
    assert.match(noDescription.stderr, /--description is required.*GW_ERR_CLI_USAGE/)
    const unknownSub = await run(['frobnicate'])
    assert.equal(unknownSub.code, 2)
    assert.match(unknownSub.stderr, /unknown token command "frobnicate"/)
    assert.match(unknownSub.stderr, /Usage: bundlegate token/)
    const none = await run([])
    assert.equal(none.code, 2)
    assert.match(none.stderr, /Usage: bundlegate token <create\|list\|revoke\|rotate-root\|adopt-root>/)
    const badOption = await run(['list', '--bogus'])
    assert.equal(badOption.code, 2)
    assert.match(badOption.stderr, /Unknown option '--bogus'.*GW_ERR_CLI_USAGE/)
    const help = await run(['--help'])
    assert.equal(help.code, 0)
    assert.match(help.stdout, /--expires 30d/)
    for (const r of [admin, noScope, noDescription, unknownSub, badOption]) assert.equal(r.stdout, '')
    assert.deepEqual(store().list(), [], 'no usage error created a token')
  })

  test('a bad --expires is refused with a message naming the flag and the value, and creates nothing', async (t) => {
    const { run, store } = await workspace(t)
    for (const value of ['soon', '0', '1.5h', '-3d', '30y']) {
      const r = await run(['create', '--scope', 'read', '--description', 'x', `--expires=${value}`])
      assert.notEqual(r.code, 0, `--expires ${value} is refused`)
      assert.equal(r.stdout, '')
      assert.match(r.stderr, /Expected `--expires` to be a duration like 30d, 12h, 15m or 3600/)
      assert.ok(r.stderr.includes(`\`${value}\``), r.stderr)
    }
    assert.deepEqual(store().list(), [])
  })

  test('a bad --expires is a usage error: exit 2 like the other usage errors', async (t) => {
    const { run } = await workspace(t)
    const r = await run(['create', '--scope', 'read', '--description', 'x', '--expires', 'soon'])
    assert.equal(r.code, 2, r.stderr)
  })
})
