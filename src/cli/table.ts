import { type CliIo, line } from './io.ts'

/** Prints rows as aligned columns (two spaces apart, no trailing blanks); the first row is the header. */
export function printTable(io: CliIo, rows: readonly (readonly string[])[]): void {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)))
  for (const r of rows) {
    line(
      io.out,
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
  }
}
