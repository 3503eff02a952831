/** What the templates of `bundlegate create` are filled with. */
export interface TemplateContext {
  /** The bundle name, as given (`hello-world`): bundle.json name, resource `/<name>`, store `<name>`. */
  name: string
  /** The class name (`HelloWorldBundle`). */
  className: string
  /** The `bundlegate` dependency of package.json: `file:/abs/path` (a checkout) or `^0.1.0` (installed). */
  bundlegateSpec: string
  /** The `engines.node` range of bundlegate. */
  nodeRange: string
}

/** `hello-world` → `HelloWorldBundle`. */
export function classNameOf(name: string): string {
  const pascal = name
    .split('-')
    .filter((part) => part !== '')
    .map((part) => part[0]?.toUpperCase() + part.slice(1))
    .join('')
  return `${pascal}Bundle`
}
