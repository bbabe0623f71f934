/** Where the CLI finds what ships with it. */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The folder that holds package.json (works from dist/ and from out/cli/). */
export function packageRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 5; i++) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'examples'))) return dir;
    dir = path.dirname(dir);
  }
  return path.resolve(__dirname, '..');
}
