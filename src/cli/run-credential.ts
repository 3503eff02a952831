/**
 * The broker credential `bundlegate run` and `bundlegate host` issue for a bundle when the gateway's broker
 * requires MQTT authentication, revoked when the run ends (docs/security.md).
 * @module
 */
import { resolve } from 'node:path'
import { BrokerCredentialStore } from '../broker/index.ts'
import { loadConfig } from '../config/index.ts'
import { silentLogger } from '../logger.ts'
import { dataFlags } from './gateway-flags.ts'

/**
 * A broker credential for this run, when the gateway's data directory has a broker credential store and the
 * bundle has no credentials of its own (BROKER_USERNAME, or a user in the broker URL).
 */
export async function issueCredential(
  bundle: string,
  brokerUrl: string,
  values: { config?: string | undefined; 'data-dir'?: string | undefined; 'token-file'?: string | undefined },
): Promise<{ id: string; env: Record<string, string>; revoke(): void } | undefined> {
  if (process.env.BROKER_USERNAME) return undefined
  try {
    if (new URL(brokerUrl).username !== '') return undefined
  } catch {
    return undefined // resolveLaunch has reported it
  }
  const config = await loadConfig({ file: values.config, flags: dataFlags(values) })
  const dataDir = resolve(config.data.dir)
  if (!BrokerCredentialStore.exists(dataDir)) return undefined
  const open = () => BrokerCredentialStore.open(dataDir, { logger: silentLogger() })
  const store = open()
  let created: ReturnType<BrokerCredentialStore['create']>
  try {
    created = store.create(bundle, { description: `bundlegate run (pid ${process.pid})` })
  } finally {
    store.close()
  }
  const id = created.credential.id
  return {
    id,
    env: { BROKER_USERNAME: created.username, BROKER_PASSWORD: created.password },
    revoke() {
      const s = open()
      try {
        s.revoke(id)
      } finally {
        s.close()
      }
    },
  }
}
