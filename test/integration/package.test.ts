// tapyard as a package: `npm pack` makes a tarball that installs in an empty directory (building
// the native addon), and a script there imports the library by its name, from JavaScript and from
// TypeScript compiled against the package's own types.

import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { ROOT } from '../helpers/lab.js';

let dir: string;
let app: string;
const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ty-package-'));
  app = join(dir, 'app');
  // The build is there already (scripts/setup); prepack would only compile it again.
  execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], { cwd: ROOT, stdio: 'pipe' });
  execFileSync('mkdir', [app]);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', join(dir, `tapyard-${version}.tgz`)], {
    cwd: app,
    stdio: 'pipe',
  });
}, 170_000);
afterAll(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

/** Ten frames from memory port a through a cross-connect to memory port b, in a script of the app. */
const FORWARD_JS = `import { CrossConnect, Forwarder, MemoryPort, buildFrame, labUp, openPort } from 'tapyard';
const a = new MemoryPort('a');
const b = new MemoryPort('b');
const forwarder = new Forwarder([a, b], new CrossConnect());
forwarder.start();
const eth = { dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01' };
for (let i = 0; i < 10; i++) a.inject(buildFrame({ eth, payload: 'frame ' + i, padTo: 60 }));
setTimeout(() => {
  forwarder.stop();
  const texts = b.sent.map((f) => Buffer.from(f.subarray(14)).toString('latin1').replace(/\\0+$/, ''));
  console.log(JSON.stringify({ ledger: forwarder.ledger(), texts, openPort: typeof openPort, labUp: typeof labUp }));
}, 200);
`;

const expected = {
  ledger: { rx: 10, clones: 0, tx: 10, drops: 0, queued: 0 },
  texts: Array.from({ length: 10 }, (_, i) => `frame ${i}`),
  openPort: 'function',
  labUp: 'function',
};

test('the tarball installs in an empty directory and builds the addon there', () => {
  const installed = join(app, 'node_modules', 'tapyard');
  expect(existsSync(join(installed, 'dist', 'src', 'index.d.ts'))).toBe(true);
  // Built by the install script in the app, not copied from the checkout (the tarball holds no build/).
  const listing = execFileSync('tar', ['tzf', join(dir, `tapyard-${version}.tgz`)], { encoding: 'utf8' });
  expect(listing).not.toMatch(/\.node$/m);
  const addon = execFileSync(
    'node',
    [
      '-e',
      `console.log(typeof require(${JSON.stringify(join(installed, 'build', 'Release', 'tapio.node'))}).attachTap)`,
    ],
    { encoding: 'utf8' },
  );
  expect(addon.trim()).toBe('function');
  // The command the package declares runs.
  expect(execFileSync(join(app, 'node_modules', '.bin', 'tapyard'), ['--version'], { encoding: 'utf8' }).trim()).toBe(
    `tapyard ${version}`,
  );
});

test("import { Forwarder, openPort, buildFrame, labUp } from 'tapyard' in JavaScript: memory ports forward", () => {
  writeFileSync(join(app, 'forward.mjs'), FORWARD_JS);
  const out = execFileSync('node', ['forward.mjs'], { cwd: app, encoding: 'utf8' });
  expect(JSON.parse(out)).toEqual(expected);
});

const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'nodenext',
    moduleResolution: 'nodenext',
    strict: true,
    // The package's declarations are checked too, as a user's build would.
    skipLibCheck: false,
    outDir: 'out',
    types: ['node'],
    // @types/node from the checkout: the app's own would come from the registry.
    typeRoots: [join(ROOT, 'node_modules', '@types')],
  },
};

function tsc(files: string[]) {
  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({ ...TSCONFIG, files }));
  return spawnSync(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json'], { cwd: app, encoding: 'utf8' });
}

test('TypeScript compiles against the types of the package: the examples and a forward of its own', () => {
  writeFileSync(
    join(app, 'forward.ts'),
    FORWARD_JS.replace('import {', "import type { Ledger } from 'tapyard';\nimport {").replace(
      'forwarder.ledger()',
      'forwarder.ledger() satisfies Ledger',
    ),
  );
  for (const name of ['macswap-reflector', 'mirror-switch'])
    copyFileSync(join(ROOT, 'examples', `${name}.ts`), join(app, `${name}.ts`));
  const build = tsc(['forward.ts', 'macswap-reflector.ts', 'mirror-switch.ts']);
  expect(build.stdout + build.stderr).toBe('');
  expect(build.status).toBe(0);
  const out = execFileSync('node', [join('out', 'forward.js')], { cwd: app, encoding: 'utf8' });
  expect(JSON.parse(out)).toEqual(expected);
  // An example compiled in the app runs there: its lab comes from the installed package.
  const reflector = JSON.parse(
    execFileSync('node', [join('out', 'macswap-reflector.js')], { cwd: app, encoding: 'utf8', timeout: 60_000 }),
  ) as { reflected: number; pings: number };
  expect(reflector.reflected).toBeGreaterThanOrEqual(reflector.pings);
});

test('the types are real: a misuse does not compile', () => {
  writeFileSync(
    join(app, 'wrong.ts'),
    "import { Forwarder, MemoryPort, CrossConnect } from 'tapyard';\n" +
      "const ports = [new MemoryPort('a'), new MemoryPort('b')];\n" +
      'const rx: string = new Forwarder(ports, new CrossConnect()).ledger().rx;\n' +
      'console.log(rx);\n',
  );
  const build = tsc(['wrong.ts']);
  expect(build.status).not.toBe(0);
  expect(build.stdout).toMatch(/wrong\.ts\(3,7\): error TS2322: Type 'number' is not assignable to type 'string'/);
});
