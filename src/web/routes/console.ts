import { createHash } from 'node:crypto'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { extname, join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

/** The console's files: `console/` at the package root (next to `src/` and `dist/`), shipped in the npm package. */
export const CONSOLE_DIR = fileURLToPath(new URL('../../../console/', import.meta.url))

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
}

interface Asset {
  body: Buffer
  type: string
  etag: string
}

/** Every servable file under `dir` by URL path (`/assets/<relative path>`); other file types are not served. */
function loadAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>()
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name)
      if (statSync(path).isDirectory()) walk(path)
      else {
        const type = TYPES[extname(name)]
        if (type === undefined) continue
        const body = readFileSync(path)
        const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`
        assets.set(`/assets/${relative(dir, path).split(sep).join('/')}`, { body, type, etag })
      }
    }
  }
  walk(dir)
  return assets
}

/**
 * The web console at `/` ([HA-2]): `index.html` at `/`, every other file under `/assets/`. Files are read once at
 * start-up (the console is small) and served with an ETag; HTML with `Cache-Control: no-store`, the rest with
 * `no-cache` (revalidated with `If-None-Match`, 304 when unchanged). Security headers: security-headers.ts.
 */
export function consoleRoutes(app: FastifyInstance, dir: string = CONSOLE_DIR): void {
  const assets = loadAssets(dir)
  const index = assets.get('/assets/index.html')
  if (index === undefined) throw new Error(`the web console is missing: no index.html in ${dir}`)
  assets.delete('/assets/index.html')
  const serve = (asset: Asset, cache: string) => ({
    handler: async (request: FastifyRequest, reply: FastifyReply) => {
      void reply.header('etag', asset.etag).header('cache-control', cache).type(asset.type)
      if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send()
      return reply.send(asset.body)
    },
  })
  const page = serve(index, 'no-store')
  app.get('/', page.handler)
  for (const [path, asset] of assets) app.get(path, serve(asset, 'no-cache').handler)
}
