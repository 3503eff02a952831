/**
 * The files `bundlegate create` writes, as functions of the bundle name (shipped in the build, unlike loose
 * template files).
 * @module
 */
import type { TemplateContext } from './context.ts'
import { bundleJson, factoryJson } from './manifest.ts'
import { gitignore, packageJson, tsconfig } from './project.ts'
import { bundleClass, bundleTest, entry } from './source.ts'

export { classNameOf, type TemplateContext } from './context.ts'

/** Every file of a new TypeScript bundle: relative path → content, in the order they are listed to the user. */
export function bundleFiles(ctx: TemplateContext): Array<[path: string, content: string]> {
  return [
    ['bundle.json', bundleJson(ctx)],
    [`data/${ctx.name}.json.factory`, factoryJson()],
    [`${ctx.name}-bundle.ts`, bundleClass(ctx)],
    ['index.ts', entry(ctx)],
    [`${ctx.name}.test.ts`, bundleTest(ctx)],
    ['package.json', packageJson(ctx)],
    ['tsconfig.json', tsconfig()],
    ['.gitignore', gitignore()],
  ]
}
