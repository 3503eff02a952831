import { once } from 'node:events'
import { createServer, type Server, type Socket } from 'node:net'
import { Aedes } from 'aedes'
import { createError } from '../errors.ts'
import { type Logger, silentLogger } from '../logger.ts'
import { type BrokerAuth, type BrokerAuthOptions, installBrokerAuth } from './broker-auth.ts'
import { installRetainGuard, type RetainGuard } from './retain-guard.ts'

/** Options of the embedded MQTT broker. */
export interface EmbeddedBrokerOptions {
  /** Interface to listen on; loopback by default so nothing outside the device can reach it. @default '127.0.0.1' */
  host?: string
  /** TCP port; 0 picks a free one. @default 1883 */
  port?: number
  logger?: Logger
  /** MQTT authentication and ACL (docs/security.md); without it every client may connect and do anything. */
  auth?: BrokerAuthOptions
  /** The controller's local id: `/<localId>/controller` is a control topic too (retain-guard.ts). */
  localId?: string | undefined
}

/** A running embedded broker. */
export interface EmbeddedBroker {
  readonly aedes: Aedes
  readonly host: string
  readonly port: number
  /** `mqtt://host:port`, for clients. */
  readonly url: string
  /** Authentication and ACL, when {@link EmbeddedBrokerOptions.auth} was given. */
  readonly auth: BrokerAuth | undefined
  /** Publishes on control topics whose retain flag was cleared (retain-guard.ts). */
  readonly retainGuard: RetainGuard
  close(): Promise<void>
}

/**
 * Starts the embedded aedes broker on a TCP port. aedes 1.2 speaks MQTT 3.1.1 (and 3.1) only: a CONNECT asking for
 * MQTT 5 gets CONNACK 1 (unacceptable protocol version). Every accepted socket gets TCP_NODELAY: the
 * protocol is request/response, so Nagle's delay would sit on every round trip.
 */
export async function startBroker(options: EmbeddedBrokerOptions = {}): Promise<EmbeddedBroker> {
  const host = options.host ?? '127.0.0.1'
  const port = options.port ?? 1883
  const log = (options.logger ?? silentLogger()).child({ component: 'broker' })
  // Client ids of up to 128 characters: MQTT 3.1.1 only guarantees 23, but bundles of other SDKs use longer ones.
  const aedes = await Aedes.createBroker({ maxClientsIdLength: 128 })
  const auth = options.auth ? installBrokerAuth(aedes, options.auth, log) : undefined
  const retainGuard = installRetainGuard(aedes, {
    localId: options.localId ?? options.auth?.localId,
    logger: log,
  })
  const sockets = new Set<Socket>()
  const server: Server = createServer((socket) => {
    socket.setNoDelay(true)
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
    aedes.handle(socket)
  })
  aedes.on('clientError', (client, err) =>
    log.debug({ clientId: client?.id, err: err.message }, 'client error'),
  )
  aedes.on('connectionError', (_client, err) => log.debug({ err: err.message }, 'connection error'))
  server.listen({ host, port })
  try {
    await Promise.race([
      once(server, 'listening'),
      once(server, 'error').then(([err]) => Promise.reject(err as Error)),
    ])
  } catch (err) {
    auth?.close()
    aedes.close()
    throw createError('GW_ERR_BROKER_LISTEN', [host, port, (err as Error).message], { cause: err })
  }
  const address = server.address()
  const actualPort = typeof address === 'object' && address ? address.port : port
  const urlHost = host.includes(':') ? `[${host}]` : host
  log.info({ host, port: actualPort, auth: auth !== undefined }, 'embedded MQTT broker listening')
  let closing: Promise<void> | undefined
  return {
    aedes,
    host,
    port: actualPort,
    url: `mqtt://${urlHost}:${actualPort}`,
    auth,
    retainGuard,
    close() {
      auth?.close()
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve())
        for (const s of sockets) s.destroy()
      }).then(() => new Promise<void>((resolve) => aedes.close(() => resolve())))
      return closing
    },
  }
}
