import type { FastifyInstance } from 'fastify'
import { API_PREFIX } from '../map-resource.ts'

/** What the console shows about the gateway itself. */
export interface ConsoleInfo {
  /** The root token file ([HA-8]); null when authentication is off. */
  rootTokenFile: string | null
  /** Session lifetimes, in seconds. */
  sessionIdleSec: number
  sessionMaxSec: number
}

/** `GET /api/v1/auth/console`, admin only: facts the console's pages show (the root token file's location). */
export function consoleInfoRoutes(app: FastifyInstance, info: ConsoleInfo): void {
  app.get(`${API_PREFIX}/auth/console`, { config: { auth: 'admin' } }, async () => info)
}
