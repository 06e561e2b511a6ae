/**
 * Test helper process (files.test.ts): saves two different contents to a file, alternately and
 * forever, until it is killed. `node save-loop.js TARGET atomic|plain`. Prints "saving" once the
 * first save has started.
 */
import { writeFileSync } from 'node:fs';
import { atomicWriteFile } from '../files.ts';
import { killTestContents } from './kill-contents.ts';

const [target, mode] = process.argv.slice(2) as [string, 'atomic' | 'plain'];
const contents = killTestContents();

async function main() {
  for (let i = 0; ; i++) {
    const text = contents[i % 2]!;
    if (mode === 'plain') writeFileSync(target, text);
    else await atomicWriteFile(target, text);
    if (i === 0) process.stdout.write('saving\n');
  }
}
void main();
