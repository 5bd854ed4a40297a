// Writes a .br and a .gz beside every compressible file of the build, for motorpool to send as
// they are (Accept-Encoding), kept only when smaller. Node's own zlib: no dependency.
import {brotliCompressSync, constants, gzipSync} from 'node:zlib';
import {readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

const root = process.argv[2] ?? 'dist';
const compressible = /\.(html|js|mjs|css|json|svg|txt|map|webmanifest)$/;

function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      walk(path);
    } else if (compressible.test(name)) {
      const body = readFileSync(path);
      const br = brotliCompressSync(body, {params: {[constants.BROTLI_PARAM_QUALITY]: 11}});
      const gz = gzipSync(body, {level: 9});
      if (br.length < body.length) writeFileSync(`${path}.br`, br);
      if (gz.length < body.length) writeFileSync(`${path}.gz`, gz);
    }
  }
}
walk(root);
