/**
 * Bundle directories for the bundle manager's tests: small bundles whose behaviour is chosen by the test (answer,
 * exit at once, never register, grow past a memory limit, talk on stdout, flood its log), written into a temp directory with no node_modules
 * (they import `bundlegate` through the gateway's resolve hook), and a Python one speaking paho-mqtt.
 * @module
 */
import { spawnSync } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Gateway } from '../../src/server.ts'
import { waitFor } from './gateway.ts'

/** What a test bundle does once started. */
export type Behaviour =
  | 'answer'
  | 'exit'
  | 'never-register'
  | 'memory-hog'
  | 'ignore-sigterm'
  | 'chatty'
  | 'flood'

export interface BundleSpec {
  name: string
  version?: string
  /** Its one resource. @default `/<name>` */
  resource?: string
  behaviour?: Behaviour
  priority?: number
  dependencies?: string[]
  /** `ts` (default) or `js`. */
  lang?: 'ts' | 'js'
}

/** A temp parent for bundle directories, removed by `cleanup`. */
export async function bundleParent(): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'bg-mgr-src-'))
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) }
}

function mainSource(spec: BundleSpec, resource: string): string {
  const version = spec.version ?? '1.0.0'
  switch (spec.behaviour ?? 'answer') {
    case 'exit':
      return 'console.error("giving up at once")\nprocess.exit(3)\n'
    case 'ignore-sigterm':
      return 'process.on("SIGTERM", () => console.log("SIGTERM ignored"))\nsetInterval(() => {}, 1000)\n'
    case 'never-register':
      return 'console.log("up, but registering nothing")\nsetInterval(() => {}, 1000)\n'
    case 'memory-hog':
      return [
        "import { createBundle } from 'bundlegate'",
        'const bundle = createBundle({ dir: import.meta.dirname })',
        `bundle.get('${resource}', () => ({ version: '${version}', pid: process.pid }))`,
        'await bundle.start()',
        'const hog = []',
        'setInterval(() => { const b = Buffer.alloc(8 * 1024 * 1024, 1); hog.push(b) }, 100)',
        '',
      ].join('\n')
    case 'chatty':
    case 'flood':
      // the HTTP tests' bundle: a line at start and one per request (logs, follow), its token secret in the answer
      // (revocation at uninstall); `flood` also prints 50 lines of 8000 characters every 50 ms once registered
      return [
        "import { createBundle } from 'bundlegate'",
        'let served = 0',
        'const bundle = createBundle({ dir: import.meta.dirname })',
        `bundle.get('${resource}', () => { served++; console.log('served ' + served); return { name: '${spec.name}', version: '${version}', pid: process.pid, token: process.env.MX_API_TOKEN ?? null } })`,
        `console.log('${spec.name} starting')`,
        'await bundle.start()',
        spec.behaviour === 'flood'
          ? "const big = 'x'.repeat(8000)\nsetInterval(() => { for (let i = 0; i < 50; i++) console.log(big) }, 50)"
          : '',
        '',
      ].join('\n')
    default:
      return [
        "import { createBundle } from 'bundlegate'",
        'const bundle = createBundle({ dir: import.meta.dirname })',
        `bundle.get('${resource}', () => ({ version: '${version}', pid: process.pid, env: { token: process.env.MX_API_TOKEN ?? null, url: process.env.BUNDLEGATE_URL ?? null, dataDir: process.env.BUNDLE_DATA_DIR ?? null, leaked: process.env.BUNDLEGATE_TEST_SECRET ?? null } }))`,
        'await bundle.start()',
        '',
      ].join('\n')
  }
}

/** Writes a bundle directory `<parent>/<name>-<version>` and returns it. */
export async function writeBundle(parent: string, spec: BundleSpec): Promise<string> {
  const version = spec.version ?? '1.0.0'
  const resource = spec.resource ?? `/${spec.name}`
  const dir = join(parent, `${spec.name}-${version}-${Math.random().toString(36).slice(2, 8)}`)
  await mkdir(join(dir, 'data'), { recursive: true })
  const main = spec.lang === 'js' ? 'index.js' : 'index.ts'
  const manifest = {
    name: spec.name,
    version,
    description: `test bundle ${spec.name}`,
    role: 'model',
    ttl: 60,
    main,
    priority: spec.priority ?? 0,
    dependencies: Object.fromEntries((spec.dependencies ?? []).map((d) => [d, '*'])),
    resources: [{ resource, methods: ['get'] }],
  }
  await writeFile(join(dir, 'bundle.json'), JSON.stringify(manifest, null, 2))
  await writeFile(join(dir, main), mainSource(spec, resource))
  return dir
}

/** python3 (or /usr/bin/python3) with paho-mqtt, if there is one. */
export function pahoPython(): string | undefined {
  return ['python3', '/usr/bin/python3'].find(
    (p) => spawnSync(p, ['-c', 'import paho.mqtt.client'], { stdio: 'ignore' }).status === 0,
  )
}

/** A Python bundle in the original style: paho-mqtt, BROKER_PORT_1883_TCP_*, registration, answers. */
export async function writePythonBundle(parent: string, name: string): Promise<string> {
  const dir = join(parent, `${name}-py`)
  await mkdir(dir, { recursive: true })
  const manifest = {
    name,
    version: '1.0.0',
    description: 'a paho bundle',
    role: 'model',
    ttl: 60,
    main: 'index.py',
    resources: [{ resource: `/${name}` }],
  }
  await writeFile(join(dir, 'bundle.json'), JSON.stringify(manifest, null, 2))
  await writeFile(join(dir, 'index.py'), PYTHON_BUNDLE)
  return dir
}

/** GET `/api/v1<resource>` with the root token: status and JSON body. */
export async function getJson(gw: Gateway & { rootToken: string }, resource: string, token = gw.rootToken) {
  const r = await fetch(`${gw.httpUrl}/api/v1${resource}`, { headers: { 'mx-api-token': token } })
  const text = await r.text()
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    body = text
  }
  return { status: r.status, body: body as Record<string, unknown>, headers: r.headers }
}

/** Waits until the managed bundle is in `state`. */
export async function waitState(gw: Gateway, name: string, state: string, ms = 20_000): Promise<void> {
  await waitFor(
    () => gw.manager.get(name)?.state === state,
    ms,
    `${name} to be ${state} (is ${gw.manager.get(name)?.state}: ${gw.manager.get(name)?.message})`,
  )
}

/**
 * An original Sanji bundle's wire routine, reduced (paho-mqtt 1.x and 2.x): the broker from BROKER_PORT_1883_TCP_*,
 * its own broker credentials when given, DELETE then POST of its registration on an internal tunnel, answers copied
 * from the request with `code`, `sign` and `data` {python, pid, cwd, port}. Used by the manager's and `run`'s tests.
 */
export const PYTHON_BUNDLE = `
import json, os, signal, sys, uuid
import paho.mqtt.client as mqtt

host = os.environ["BROKER_PORT_1883_TCP_ADDR"]
port = int(os.environ["BROKER_PORT_1883_TCP_PORT"])
with open(os.path.join(os.environ["BUNDLE_DIR"], "bundle.json")) as f:
    manifest = json.load(f)
internal = uuid.uuid4().hex

if hasattr(mqtt, "CallbackAPIVersion"):
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION1)
else:
    client = mqtt.Client()
if os.environ.get("BROKER_USERNAME"):
    client.username_pw_set(os.environ["BROKER_USERNAME"], os.environ.get("BROKER_PASSWORD"))

profile = {
    "name": manifest["name"], "description": manifest["description"], "role": manifest["role"],
    "ttl": manifest["ttl"], "hook": [], "resources": [r["resource"] for r in manifest["resources"]],
    "tunnel": internal,
}

def on_connect(client, userdata, flags, rc):
    client.subscribe(internal, 0)
    # as the Sanji SDK: DELETE the old registration (a previous run), then POST (wire-protocol.md 4.6)
    request = {"resource": "/controller/registration/" + manifest["name"], "method": "delete", "tunnel": internal,
               "id": 2}
    client.publish("/controller", json.dumps(request), qos=2)

def on_message(client, userdata, msg):
    m = json.loads(msg.payload.decode("utf-8"))
    if m.get("id") == 2 and "code" in m:
        request = {"resource": "/controller/registration", "method": "post", "tunnel": internal, "data": profile,
                   "id": 1}
        client.publish("/controller", json.dumps(request), qos=2)
        return
    if m.get("resource") == "/controller/registration":
        if m.get("code") == 200:
            client.subscribe(m["data"]["tunnel"], 0)
            print("registered", flush=True)
        return
    if "code" in m:
        return
    answer = {k: v for k, v in m.items() if k not in ("tunnel", "param", "query") and not k.startswith("_")}
    answer["code"] = 200
    answer["sign"] = list(m.get("sign") or []) + [manifest["name"]]
    answer["data"] = {"python": True, "pid": os.getpid(), "cwd": os.getcwd(), "port": port}
    client.publish("/controller", json.dumps(answer), qos=2)

def stop(*_):
    client.disconnect()

signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
client.on_connect = on_connect
client.on_message = on_message
client.connect(host, port)
client.loop_forever()
`
