// Loaded with NODE_OPTIONS="--import <this file>" by benchmarks/profile.ts (Node refuses --cpu-prof in NODE_OPTIONS,
// and the gateway spawns its bundle itself): profiles the whole process with the inspector and writes
// <BG_PROFILE_DIR>/<pid>.cpuprofile at exit. The in-thread inspector session answers synchronously, so the exit
// handler can stop the profiler and write the file before the process ends.
import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector'
import { join } from 'node:path'

const dir = process.env.BG_PROFILE_DIR
if (dir) {
  const session = new Session()
  session.connect()
  session.post('Profiler.enable')
  session.post('Profiler.setSamplingInterval', { interval: 200 })
  session.post('Profiler.start')
  process.once('exit', () => {
    session.post('Profiler.stop', (err, result) => {
      if (!err) writeFileSync(join(dir, `${process.pid}.cpuprofile`), JSON.stringify(result.profile))
    })
  })
}
