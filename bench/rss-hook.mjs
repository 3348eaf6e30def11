// Preloaded into a benchmarked process: writes its peak RSS (kB) to $DETAILEE_RSS_FILE at exit.
// The peak is VmHWM from /proc/self/status, the high-water mark of this program's own memory.
// process.resourceUsage().maxRSS is not: Linux carries ru_maxrss across fork and exec, so a child
// reports at least the RSS its parent had when it forked (the benchmark, holding the output of
// earlier runs, read 130-200 MB for children that peaked at far less).
import { readFileSync, writeFileSync } from 'node:fs';
function peakKb() {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]);
  } catch {
    /* not Linux */
  }
  return process.resourceUsage().maxRSS;
}
process.on('exit', () => {
  if (process.env.DETAILEE_RSS_FILE) writeFileSync(process.env.DETAILEE_RSS_FILE, String(peakKb()));
});
