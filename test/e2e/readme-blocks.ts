import { readFile } from 'node:fs/promises';

/** What marks a README shell block as one the tests run: this comment on the line before the fence. */
export const README_TEST_MARK = '<!-- readme-test -->';

/** The shell blocks of a markdown file marked with README_TEST_MARK, in order. */
export async function markedShellBlocks(file: string): Promise<string[]> {
  const lines = (await readFile(file, 'utf8')).split('\n');
  const blocks: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.trim() !== README_TEST_MARK) continue;
    if (!/^```(sh|bash)\s*$/.test(lines[i + 1] ?? ''))
      throw new Error(`${file}:${i + 2}: the mark must precede a sh block`);
    const end = lines.findIndex((line, index) => index > i + 1 && line.startsWith('```'));
    blocks.push(lines.slice(i + 2, end).join('\n'));
    i = end;
  }
  return blocks;
}
