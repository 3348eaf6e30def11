'use strict';
// tiny-inflate's function, on Node's native inflater: bundled into dist/vendor/pdf.js in its place
// (scripts/bundle.mjs says why). Raw DEFLATE in, `dest` filled; returned whole, or the filled part
// when the stream is shorter, as tiny-inflate returns it.
const { inflateRawSync } = process.getBuiltinModule('node:zlib');

module.exports = function inflate(source, dest) {
  // The cap keeps a corrupt stream from growing past `dest`; zlib takes no cap below 1 byte.
  const out = inflateRawSync(source, { maxOutputLength: Math.max(dest.length, 1) });
  dest.set(out);
  if (out.length === dest.length) return dest;
  return typeof dest.slice === 'function' ? dest.slice(0, out.length) : dest.subarray(0, out.length);
};
