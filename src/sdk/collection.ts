/**
 * A persisted list of objects with integer ids: the TypeScript counterpart of the Python Sanji SDK's `Model`.
 * @module
 */

import { access } from 'node:fs/promises'
import { join } from 'node:path'
import type { ValidateFunction } from 'ajv'
import { createError } from '../errors.ts'
import type { Logger } from '../logger.ts'
import { isObject, type Json } from '../protocol/index.ts'
import { ConfigStore, type ConfigStoreOptions, type ConfigStoreStatus } from './config-store.ts'
import { compileSchema, errorsText } from './json-schema.ts'

/** Options of {@link Collection.open}. */
export interface CollectionOptions {
  /**
   * JSON Schema (ajv 8) of one stored item, `id` included (so a schema with `additionalProperties: false` must
   * list `id`). Checked on load and before every mutation.
   */
  schema?: object
  /** pino logger. @default silentLogger() */
  logger?: Logger
  /** Backup interval of the underlying {@link ConfigStore}. @default 12 h */
  backupIntervalMs?: number
}

/** A stored item: the caller's object plus its integer `id`. */
export type Item<T> = T & { id: number }

const ID_SCHEMA = { type: 'object', required: ['id'], properties: { id: { type: 'integer' } } }

/**
 * Items kept in `<dir>/data/<name>.json` as a JSON array (see {@link ConfigStore} for files, backup and recovery).
 *
 * Mutations run one at a time; each validates, saves atomically and only then becomes visible. A failed save
 * leaves both the file and the in-memory items as they were. Items going in and out are deep copies.
 */
export class Collection<T extends Record<string, Json>> {
  readonly #store: ConfigStore<Json[]>
  readonly #validate: ValidateFunction | undefined
  /** The committed items (what is on disk). Never mutated in place. */
  #items: Array<Item<T>>
  #queue: Promise<unknown> = Promise.resolve()

  private constructor(store: ConfigStore<Json[]>, validate: ValidateFunction | undefined) {
    this.#store = store
    this.#validate = validate
    this.#items = store.data as Array<Item<T>>
  }

  /**
   * Opens the collection `name` under `<dir>/data/`. When none of `<name>.json`, its backup and its factory file
   * exists, it starts empty (`[]` is saved).
   * @throws GW_ERR_STORE_INVALID, GW_ERR_STORE_LOAD, GW_ERR_STORE_WRITE as {@link ConfigStore.open};
   *   GW_ERR_COLLECTION_INVALID for a schema ajv cannot compile.
   */
  static async open<T extends Record<string, Json>>(
    name: string,
    dir: string,
    options: CollectionOptions = {},
  ): Promise<Collection<T>> {
    let validate: ValidateFunction | undefined
    let itemSchema: object = ID_SCHEMA
    if (options.schema !== undefined) {
      if (!isObject(options.schema)) {
        throw createError('GW_ERR_COLLECTION_INVALID', [
          `Expected \`schema\` to be a JSON Schema object, got ${typeof options.schema}`,
        ])
      }
      try {
        validate = compileSchema(options.schema)
      } catch (err) {
        throw createError('GW_ERR_COLLECTION_INVALID', [`invalid \`schema\`: ${(err as Error).message}`], {
          cause: err,
        })
      }
      itemSchema = { allOf: [ID_SCHEMA, options.schema] }
    }
    const storeOptions: ConfigStoreOptions<Json[]> = { schema: { type: 'array', items: itemSchema } }
    if (options.logger) storeOptions.logger = options.logger
    if (options.backupIntervalMs !== undefined) storeOptions.backupIntervalMs = options.backupIntervalMs
    if (typeof name === 'string' && typeof dir === 'string' && !(await anyFileExists(name, dir))) {
      storeOptions.defaults = []
    }
    const store = await ConfigStore.open<Json[]>(name, dir, storeOptions)
    return new Collection<T>(store, validate)
  }

  /** Where the items came from when the collection was opened. */
  get status(): ConfigStoreStatus {
    return this.#store.status
  }

  /** Path of the JSON file. */
  get path(): string {
    return this.#store.path
  }

  /** Adds a copy of `obj` with `id` = highest id + 1 (1 for the first item); any `id` in `obj` is replaced. */
  add(obj: T): Promise<Item<T>> {
    return this.#mutate(() => {
      const item = this.#check({ ...copyObject(obj), id: nextId(this.#items) })
      return { next: [...this.#items, item], result: structuredClone(item) }
    })
  }

  /**
   * A copy of the item with this id, or undefined.
   * @throws GW_ERR_COLLECTION_INVALID when `id` is not an integer.
   */
  get(id: number): Item<T> | undefined {
    checkId(id)
    const item = this.#items.find((i) => i.id === id)
    return item === undefined ? undefined : structuredClone(item)
  }

  /** Copies of all items, in stored order. */
  getAll(): Array<Item<T>> {
    return structuredClone(this.#items)
  }

  /** Shallow-merges `partial` into the item (its `id` is kept); undefined when there is no such item. */
  update(id: number, partial: Partial<T>): Promise<Item<T> | undefined> {
    return this.#mutate(() => {
      checkId(id)
      const index = this.#items.findIndex((i) => i.id === id)
      if (index === -1) return { result: undefined }
      const item = this.#check({ ...this.#items[index]!, ...copyObject(partial), id })
      return { next: this.#items.with(index, item), result: structuredClone(item) }
    })
  }

  /** Replaces the item with a copy of `obj` (its `id` is kept); undefined when there is no such item. */
  set(id: number, obj: T): Promise<Item<T> | undefined> {
    return this.#mutate(() => {
      checkId(id)
      const index = this.#items.findIndex((i) => i.id === id)
      if (index === -1) return { result: undefined }
      const item = this.#check({ ...copyObject(obj), id })
      return { next: this.#items.with(index, item), result: structuredClone(item) }
    })
  }

  /** Removes every item with this id; resolves to the number removed. */
  remove(id: number): Promise<number> {
    return this.#mutate(() => {
      checkId(id)
      const next = this.#items.filter((i) => i.id !== id)
      const removed = this.#items.length - next.length
      return removed === 0 ? { result: 0 } : { next, result: removed }
    })
  }

  /** Removes all items; resolves to the number removed. */
  removeAll(): Promise<number> {
    return this.#mutate(() => {
      const removed = this.#items.length
      return removed === 0 ? { result: 0 } : { next: [], result: removed }
    })
  }

  /** Waits for pending mutations and closes the store. */
  async close(): Promise<void> {
    await this.#queue.catch(() => {})
    await this.#store.close()
  }

  /**
   * Runs `plan` after the previous mutation; when it yields `next`, saves it and commits it only on success.
   * A rejected save restores the store data, so neither memory nor disk changes.
   */
  #mutate<R>(plan: () => { next?: Array<Item<T>>; result: R }): Promise<R> {
    const run = this.#queue.then(async () => {
      const { next, result } = plan()
      if (next === undefined) return result
      this.#store.data = next
      try {
        await this.#store.save()
      } catch (err) {
        this.#store.data = this.#items
        throw err
      }
      this.#items = next
      return result
    })
    this.#queue = run.catch(() => {})
    return run
  }

  #check(item: Record<string, Json>): Item<T> {
    if (this.#validate && !this.#validate(item)) {
      const errors = this.#validate.errors ?? []
      throw createError('GW_ERR_COLLECTION_INVALID', [errorsText(errors, 'item')], { data: { errors } })
    }
    return item as Item<T>
  }
}

function copyObject(obj: unknown): Record<string, Json> {
  if (!isObject(obj as Json)) {
    const type = obj === null ? 'null' : Array.isArray(obj) ? 'array' : typeof obj
    throw createError('GW_ERR_COLLECTION_INVALID', [`Expected an object, got ${type}`])
  }
  return structuredClone(obj as Record<string, Json>)
}

function checkId(id: unknown): void {
  if (typeof id !== 'number' || !Number.isSafeInteger(id)) {
    const shown = typeof id === 'string' ? JSON.stringify(id) : String(id)
    throw createError('GW_ERR_COLLECTION_INVALID', [
      `Expected \`id\` to be an integer, got \`${shown}\` (${typeof id})`,
    ])
  }
}

function nextId(items: ReadonlyArray<{ id: number }>): number {
  let max = 0
  for (const i of items) if (i.id > max) max = i.id
  return max + 1
}

async function anyFileExists(name: string, dir: string): Promise<boolean> {
  const json = join(dir, 'data', `${name}.json`)
  for (const file of [json, `${json}.backup`, `${json}.factory`]) {
    try {
      await access(file)
      return true
    } catch {}
  }
  return false
}
