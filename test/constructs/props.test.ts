import * as fs from 'fs';
import * as path from 'path';

const root = path.resolve(__dirname, '..', '..');
/** Capability folders; providers/ mirrors Terraform's own snake_case arguments and is documented there. */
const folders = fs.readdirSync(path.join(root, 'constructs')).filter((dir) => dir !== 'providers');

/** Optional props (`readonly x?:`) of exported interfaces whose line above is not a one-line doc with `@default`. */
function undocumentedDefaults(text: string): string[] {
  const lines = text.split('\n');
  let inInterface = false;
  const missing: string[] = [];
  lines.forEach((line, i) => {
    if (/^export interface \w+/.test(line)) inInterface = true;
    else if (line.startsWith('}')) inInterface = false;
    const prop = inInterface ? /^ {2}readonly (\w+)\?:/.exec(line) : null;
    if (!prop) return;
    const above = (lines[i - 1] ?? '').trim();
    if (!(above.startsWith('/**') && above.endsWith('*/') && above.includes('@default'))) missing.push(prop[1]);
  });
  return missing;
}

test('every optional construct prop says its default in its one-line doc', () => {
  const missing = folders.flatMap((dir) =>
    fs
      .readdirSync(path.join(root, 'constructs', dir))
      .filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts'))
      .flatMap((file) => {
        const text = fs.readFileSync(path.join(root, 'constructs', dir, file), 'utf8');
        return undocumentedDefaults(text).map((prop) => `${dir}/${file}: ${prop}`);
      }),
  );
  expect(missing).toEqual([]);
});

test('the check finds an optional prop without @default, or whose doc is not on the line above', () => {
  const text = [
    'export interface P {',
    '  /** Documented; @default 3 */',
    '  readonly a?: number;',
    '  /** No default named. */',
    '  readonly b?: number;',
    '  readonly c?: number;',
    '  readonly d: number;',
    '}',
  ].join('\n');
  expect(undocumentedDefaults(text)).toEqual(['b', 'c']);
});
