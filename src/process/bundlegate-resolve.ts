/**
 * A preload (`node --import <this file>`) that lets a bundle `import 'bundlegate'` (and `bundlegate/…`) without an
 * `npm install` of its own: when Node's own resolution finds no such package from the bundle, the specifier is
 * resolved again as a self-reference from this package's root, i.e. to the gateway's own installed package, under
 * the same conditions (`bundlegate-dev` loads its sources). A bundle with its own `node_modules/bundlegate` keeps it.
 *
 * It runs from the sources (through tsx, already loaded by the preceding `--import`) and from `dist/` alike; the
 * hooks themselves are plain JavaScript in a `data:` URL so that the loader thread needs no TypeScript.
 * @module
 */

import { register } from 'node:module'

/** The loader hooks, run in Node's loader thread. `anchor` is a file URL inside this package. */
const HOOKS = `
let anchor
export function initialize(data) { anchor = data.anchor }
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context)
  } catch (err) {
    const ours = specifier === 'bundlegate' || specifier.startsWith('bundlegate/')
    if (!ours || err?.code !== 'ERR_MODULE_NOT_FOUND' || context.parentURL === anchor) throw err
    return next(specifier, { ...context, parentURL: anchor })
  }
}
`

register(`data:text/javascript,${encodeURIComponent(HOOKS)}`, {
  data: { anchor: new URL('../../package.json', import.meta.url).href },
})
