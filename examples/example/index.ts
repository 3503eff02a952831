import { ExampleBundle } from './example-bundle.ts'

await new ExampleBundle({ dir: import.meta.dirname }).start()
