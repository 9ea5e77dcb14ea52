// npm run build: bundle the app with esbuild into dist/ (app.js, index.html,
// style.css). The .proto files are read here with protobufjs and bundled as a
// JSON schema: the module src/schema.js is replaced by that JSON (under Node
// it makes the same JSON itself); nothing is fetched at run time.
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSchema } from './schema.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');

const schemaModule = path.join(root, 'src', 'schema.js');
const schemaPlugin = {
  name: 'espace-schema',
  setup(b) {
    b.onLoad({ filter: /[\\/]schema\.js$/ }, (args) => (args.path === schemaModule
      ? { contents: JSON.stringify(buildSchema()), loader: 'json' }
      : undefined));
  },
};

fs.rmSync(dist, { recursive: true, force: true });
fs.mkdirSync(dist, { recursive: true });

const result = await build({
  entryPoints: [path.join(root, 'src/app.js')],
  outfile: path.join(dist, 'app.js'),
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: ['chrome109', 'firefox115', 'safari16'],
  minify: process.env.ESPACE_WEB_DEBUG !== '1',
  sourcemap: false,
  legalComments: 'linked',
  plugins: [schemaPlugin],
  logLevel: 'warning',
  metafile: true,
});

for (const f of ['index.html', 'style.css', 'favicon.svg']) {
  fs.copyFileSync(path.join(root, 'public', f), path.join(dist, f));
}
// uPlot's stylesheet (the Mesures charts) goes into the one style.css: the CSP allows no other.
fs.appendFileSync(path.join(dist, 'style.css'), `\n/* uPlot (MIT licence, Leon Sorokin) */\n${fs.readFileSync(path.join(root, 'node_modules/uplot/dist/uPlot.min.css'), 'utf8')}\n`);

const bytes = fs.statSync(path.join(dist, 'app.js')).size;
console.log(`built ${path.relative(process.cwd(), dist) || 'dist'}/ (app.js ${Math.round(bytes / 1024)} KiB, ${Object.keys(result.metafile.inputs).length} inputs)`);
