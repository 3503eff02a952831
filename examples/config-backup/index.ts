import { ConfigBackupBundle } from './config-backup-bundle.ts'

await new ConfigBackupBundle({ dir: import.meta.dirname }).start()
