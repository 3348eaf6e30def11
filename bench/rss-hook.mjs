// Preloaded into a benchmarked process: writes its peak RSS (kB) to $DETAILEE_RSS_FILE at exit.
import { writeFileSync } from 'node:fs';
process.on('exit', () => {
  if (process.env.DETAILEE_RSS_FILE) writeFileSync(process.env.DETAILEE_RSS_FILE, String(process.resourceUsage().maxRSS));
});
