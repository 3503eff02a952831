import type { TemplateContext } from './context.ts'

/**
 * package.json. \`npm test\` loads TypeScript with \`--import bundlegate/register\` (the tsx that bundlegate depends
 * on), so the bundle needs no dependency but bundlegate.
 */
export function packageJson(ctx: TemplateContext): string {
  const pkg = {
    name: ctx.name.toLowerCase(), // npm names are lower case; bundle.json keeps the name as given
    version: '0.0.1',
    private: true,
    description: `GET and PUT /${ctx.name}: a Bundlegate bundle`,
    type: 'module',
    scripts: {
      start: 'bundlegate run .',
      test: 'node --import bundlegate/register --test *.test.ts',
    },
    dependencies: { bundlegate: ctx.bundlegateSpec },
    engines: { node: ctx.nodeRange },
  }
  return `${JSON.stringify(pkg, null, 2)}\n`
}

/** tsconfig.json, for editors and \`tsc --noEmit\`: strict, NodeNext; standard decorators (no experimentalDecorators). */
export function tsconfig(): string {
  const config = {
    compilerOptions: {
      target: 'ES2023',
      lib: ['ES2023'],
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      strict: true,
      noImplicitOverride: true,
      verbatimModuleSyntax: true,
      isolatedModules: true,
      allowImportingTsExtensions: true,
      skipLibCheck: true,
      noEmit: true,
    },
    include: ['**/*.ts'],
  }
  return `${JSON.stringify(config, null, 2)}\n`
}

/** .gitignore: dependencies and the data files the bundle writes at run time (the factory file is kept). */
export function gitignore(): string {
  return ['node_modules/', 'data/*.json', 'data/*.json.backup', 'data/*.corrupt-*', 'data/.*.tmp', ''].join(
    '\n',
  )
}
