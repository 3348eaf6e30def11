import { setJsonOutputCheck } from './scenario.js';
import { jsonOutputProblems } from './json-schemas.js';

// Every `--json` output a CLI test sees must match its schema in schemas/.
setJsonOutputCheck((args, json) => {
  const problems = jsonOutputProblems(args, json);
  if (problems.length > 0) throw new Error(`detailee ${args.join(' ')}: the --json output does not match its schema:\n  ${problems.join('\n  ')}`);
});
