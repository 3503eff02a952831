import type { TemplateContext } from './context.ts'

/** bundle.json: the ThingsPro manifest, shaped like the seed's example bundle. */
export function bundleJson(ctx: TemplateContext): string {
  const manifest = {
    name: ctx.name,
    version: '0.0.1',
    author: 'Your Name Here',
    email: 'you@example.com',
    description: `GET and PUT /${ctx.name}: a stored JSON object`,
    license: 'MIT',
    main: 'index.ts',
    argument: '',
    priority: 99,
    hook: [],
    dependencies: {},
    repository: '',
    role: 'model',
    ttl: 60,
    resources: [{ methods: ['get', 'put'], resource: `/${ctx.name}` }],
  }
  return `${JSON.stringify(manifest, null, 2)}\n`
}

/** data/<name>.json.factory: the data a fresh install (and every test) starts from. */
export function factoryJson(): string {
  return `${JSON.stringify({ key: 'value' }, null, 2)}\n`
}
