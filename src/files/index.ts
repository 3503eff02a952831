/**
 * The file service's store (issue 16): uploads streamed to disk, committed atomically, with limits, quota, expiry,
 * and the download helper's one-time upload tickets.
 * @module
 */
export {
  cleanMediaType,
  type FileMeta,
  fileNameProblem,
  isFileId,
  MAX_FILE_NAME_BYTES,
} from './file-meta.ts'
export { type FileInput, FileStore, type FileStoreOptions } from './file-store.ts'
export { raced } from './raced.ts'
export { TICKET_PREFIX, type UploadGrant, UploadTickets } from './upload-tickets.ts'
