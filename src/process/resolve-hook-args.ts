/**
 * The Node arguments that load the `bundlegate` resolve hook (src/process/bundlegate-resolve.ts) into a bundle's
 * process: the compiled hook when this code runs from `dist/`, the TypeScript one (after tsx) from `src/`.
 * @module
 */

/** Whether this module runs from the TypeScript sources. */
const FROM_SOURCES = import.meta.url.endsWith('.ts')

/**
 * `--import <hook>` (and, from the sources, `--import tsx` before it unless `tsxLoaded`: the caller adds tsx
 * itself for a TypeScript bundle). With `linked` (the bundle has a `node_modules/bundlegate` of its own, e.g. the
 * link the manager places) no hook: Node finds the package itself, and the hook's loader thread (about 13 MiB of
 * resident memory per process, measured) is saved.
 */
export function bundlegateResolveArgs(options: { tsxLoaded?: boolean; linked?: boolean } = {}): string[] {
  const hook = new URL(FROM_SOURCES ? './bundlegate-resolve.ts' : './bundlegate-resolve.js', import.meta.url)
    .href
  const tsx = FROM_SOURCES && !options.tsxLoaded ? ['--import', import.meta.resolve('tsx')] : []
  return options.linked ? tsx : [...tsx, '--import', hook]
}
