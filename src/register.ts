/**
 * `node --import bundlegate/register …`: lets Node run TypeScript (bundles, their tests) with the tsx that
 * Bundlegate itself depends on, so a bundle directory needs no tsx of its own. Same effect as `--import tsx`.
 * @module
 */
import 'tsx'
