/** A one-line progress display on a terminal; silent for --json, pipes and cron. */
export function progress(enabled: boolean): ((stage: string, done: number, total: number) => void) | undefined {
  if (!enabled || !process.stderr.isTTY) return undefined;
  return (stage, done, total) => {
    process.stderr.write(`\r${stage}: ${done}/${total}${done === total ? '\n' : ''}`);
  };
}
