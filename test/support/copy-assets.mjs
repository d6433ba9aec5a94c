// Build step: puts what tsc does not emit next to the compiled code:
// the generated protobuf modules and the demo page's static files.
import { cpSync, mkdirSync, readdirSync } from 'node:fs';

mkdirSync('dist/proto/generated', { recursive: true });
for (const name of readdirSync('proto/generated')) {
  if (name.endsWith('.js')) cpSync(`proto/generated/${name}`, `dist/proto/generated/${name}`);
}
mkdirSync('dist/control/web', { recursive: true });
for (const name of readdirSync('control/web')) {
  if (/\.(html|css)$/.test(name)) cpSync(`control/web/${name}`, `dist/control/web/${name}`);
}
