// The first thing every entry point loads, so it is written for old Node (no syntax newer than
// Node 12, no imports): on an unsupported Node the user gets one line naming both versions instead
// of a SyntaxError from deep inside a dependency. package.json's engines says the same (a test
// keeps the two in step).
var NEED = [22, 22, 0];
var have = process.versions.node.split('.').map(Number);
var tooOld = false;
for (var i = 0; i < 3; i++) {
  if (have[i] > NEED[i]) break;
  if (have[i] < NEED[i]) {
    tooOld = true;
    break;
  }
}
if (tooOld) {
  process.stderr.write('detailee needs Node.js >= ' + NEED.join('.') + '; this is Node.js ' + process.versions.node + '.\n');
  process.exit(2);
}
